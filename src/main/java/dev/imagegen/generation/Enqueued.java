package dev.imagegen.generation;

import java.util.UUID;

/** The result of an enqueue: the generation and its job, and whether this call created them. */
public record Enqueued(UUID generationId, UUID jobId, boolean created) {
}
