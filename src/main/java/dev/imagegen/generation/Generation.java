package dev.imagegen.generation;

import java.time.OffsetDateTime;
import java.util.UUID;

/** One row of {@code image_generations}. */
public record Generation(
        UUID id,
        String userId,
        String prompt,
        String modelId,
        GenerationParameters parameters,
        GenerationStatus status,
        String predictionId,
        String errorMessage,
        OffsetDateTime createdAt,
        OffsetDateTime updatedAt,
        OffsetDateTime startedAt,
        OffsetDateTime completedAt) {
}
