package dev.imagegen.image;

import java.time.OffsetDateTime;
import java.util.UUID;

/** One stored output image (a row of {@code images}). */
public record Image(
        UUID id,
        UUID generationId,
        int outputIndex,
        String storageKey,
        String contentType,
        long sizeBytes,
        Integer width,
        Integer height,
        String sha256,
        OffsetDateTime createdAt) {
}
