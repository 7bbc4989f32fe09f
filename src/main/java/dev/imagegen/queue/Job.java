package dev.imagegen.queue;

import java.time.OffsetDateTime;
import java.util.UUID;

import io.vertx.core.json.JsonObject;

/**
 * One row of {@code job_queue}. A claimed job's {@code leaseOwner} is the lease of that one claim,
 * {@code replica:random}: the run passes it to every guarded statement, and a later claim of the same
 * job gets another one.
 */
@io.quarkus.runtime.annotations.RegisterForReflection
public record Job(
        UUID id,
        String jobType,
        JsonObject payload,
        JobStatus status,
        int priority,
        int attemptNumber,
        int maxAttempts,
        OffsetDateTime runAt,
        String leaseOwner,
        OffsetDateTime leaseExpiresAt,
        UUID generationId,
        String errorMessage,
        OffsetDateTime createdAt,
        OffsetDateTime updatedAt,
        OffsetDateTime startedAt,
        OffsetDateTime completedAt) {

    /** Whether another attempt may follow this one. */
    public boolean attemptsRemain() {
        return attemptNumber < maxAttempts;
    }
}
