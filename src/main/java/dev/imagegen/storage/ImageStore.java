package dev.imagegen.storage;

import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.buffer.Buffer;

/**
 * Where output images live. Every method is non-blocking and returns a {@link Uni}; bodies are
 * back-pressured {@link Multi}s, so memory never grows with an object's size.
 *
 * <p>Keys are derived from ids only ({@code generations/<generation id>/<output index>.<ext>}): no user
 * text ever reaches a key.
 */
public interface ImageStore {

    /**
     * Streams {@code body} into the store under {@code key}. Bytes first go to a temporary location and
     * become visible under {@code key} only once the whole body arrived; if {@code body} fails (or the
     * write fails), the temporary data is removed and the returned {@code Uni} fails with that error.
     * Writing an existing key replaces it.
     *
     * @return the number of bytes written
     */
    Uni<Long> put(String key, String contentType, Multi<Buffer> body);

    /** The object's size and content type, or {@code null} when there is no such object. */
    Uni<StoredObject> stat(String key);

    /**
     * Reads {@code length} bytes from {@code offset} as a back-pressured stream. The caller has checked
     * the range against {@link #stat}.
     */
    Multi<Buffer> read(String key, long offset, long length);

    /** Removes the object; succeeds when it does not exist. */
    Uni<Void> delete(String key);

    /**
     * A URL at which a browser can fetch the object directly, with no header, for at least {@code ttl}
     * (for example an S3 presigned GET URL), or empty when the store has none and image links must point
     * at this service's content endpoint. Computed locally: no call to the store is made.
     */
    default java.util.Optional<String> publicUrl(String key, java.time.Duration ttl) {
        return java.util.Optional.empty();
    }

    /** Metadata of a stored object. */
    record StoredObject(String key, long size, String contentType) {
    }
}
