package dev.imagegen.worker;

/**
 * One output image copied into the {@link dev.imagegen.storage.ImageStore}.
 *
 * @param key storage key it was written under
 * @param contentType type from the file's magic bytes ({@code image/png}, {@code image/jpeg},
 *        {@code image/webp}, else {@code application/octet-stream}), never from the URL or headers
 * @param sizeBytes bytes stored
 * @param width pixel width read from the file header, {@code null} when it could not be read
 * @param height pixel height read from the file header, {@code null} when it could not be read
 * @param sha256 lower-case hex SHA-256 of the stored bytes
 */
public record StoredImage(String key, String contentType, long sizeBytes, Integer width, Integer height,
        String sha256) {
}
