package dev.imagegen.generation;

import java.util.UUID;

import io.quarkus.runtime.annotations.RegisterForReflection;

/**
 * The seed's answer to start-generation, kept field for field so existing clients only change their base URL,
 * plus {@code events_url}: the signed link to the generation's event stream (for a browser's EventSource).
 */
@RegisterForReflection
public record EnqueueResponse(boolean success, UUID generationId, UUID jobId, String status, String message,
        String eventsUrl) {

    public static EnqueueResponse of(Enqueued e, EventLinks eventLinks) {
        return new EnqueueResponse(true, e.generationId(), e.jobId(), "queued",
                "Image generation started. You will be notified when complete.", eventLinks.url(e.generationId()));
    }
}
