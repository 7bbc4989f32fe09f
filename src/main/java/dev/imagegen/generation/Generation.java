package dev.imagegen.generation;

import java.time.OffsetDateTime;
import java.util.UUID;

import dev.imagegen.auth.Caller;

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

    /** A user sees their own generations; an operator sees all. */
    public boolean visibleTo(Caller caller) {
        return caller.operator() || userId.equals(caller.userId());
    }
}
