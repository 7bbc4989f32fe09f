package dev.imagegen.generation;

import java.math.BigDecimal;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.UUID;

import io.quarkus.runtime.annotations.RegisterForReflection;

/**
 * A generation as the API shows it (snake_case JSON), with its stored images and {@code events_url}, the
 * signed link to its event stream that a browser's {@code EventSource} opens with no header.
 */
@RegisterForReflection
public record GenerationView(
        UUID id,
        String prompt,
        String modelId,
        int width,
        int height,
        Integer numInferenceSteps,
        BigDecimal guidanceScale,
        Long seed,
        int numOutputs,
        String outputFormat,
        String status,
        String errorMessage,
        OffsetDateTime createdAt,
        OffsetDateTime updatedAt,
        OffsetDateTime startedAt,
        OffsetDateTime completedAt,
        List<ImageView> images,
        String eventsUrl) {

    /** One stored image; {@code url} is an absolute, signed link fetchable with no header. */
    @RegisterForReflection
    public record ImageView(UUID id, String url, String contentType, long sizeBytes, Integer width, Integer height,
            String sha256) {
    }

    public static GenerationView of(Generation g, List<ImageView> images, EventLinks eventLinks) {
        GenerationParameters p = g.parameters();
        return new GenerationView(g.id(), g.prompt(), g.modelId(), p.width(), p.height(), p.numInferenceSteps(),
                p.guidanceScale(), p.seed(), p.numOutputs(), p.outputFormat(), g.status().db(), g.errorMessage(),
                g.createdAt(), g.updatedAt(), g.startedAt(), g.completedAt(), images, eventLinks.url(g.id()));
    }
}
