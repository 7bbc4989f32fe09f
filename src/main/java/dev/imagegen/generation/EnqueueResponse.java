package dev.imagegen.generation;

import java.util.UUID;

import io.quarkus.runtime.annotations.RegisterForReflection;

/** The seed's answer to start-generation, kept field for field so existing clients only change their base URL. */
@RegisterForReflection
public record EnqueueResponse(boolean success, UUID generationId, UUID jobId, String status, String message) {

    public static EnqueueResponse of(Enqueued e) {
        return new EnqueueResponse(true, e.generationId(), e.jobId(), "queued",
                "Image generation started. You will be notified when complete.");
    }
}
