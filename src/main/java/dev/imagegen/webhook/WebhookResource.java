package dev.imagegen.webhook;

import java.time.Instant;
import java.util.Locale;
import java.util.Map;

import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.logging.Logger;

import io.smallrye.mutiny.Uni;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

import dev.imagegen.api.ApiException;
import dev.imagegen.api.ProblemType;
import dev.imagegen.config.ImagegenConfig;
import dev.imagegen.queue.JobNotifier;

/**
 * Replicate's completion callbacks, verified with the Standard Webhooks signature (every {@code v1,}
 * entry tried, constant-time, 5-minute tolerance). A forged, missing or stale signature is a 401 and
 * changes nothing; a delivery id seen before is acknowledged and ignored; a delivery that is not
 * terminal (out of order, or an event we did not ask for) is recorded but wakes nothing.
 */
@Path("/v1/webhooks/replicate")
@Tag(name = "Webhooks")
public class WebhookResource {

    private static final Logger LOG = Logger.getLogger(WebhookResource.class);

    @Inject
    ImagegenConfig config;

    @Inject
    WebhookIntake intake;

    @Inject
    PredictionSignals signals;

    @Inject
    JobNotifier notifier;

    void wireCrossReplicaWakeUps(@jakarta.enterprise.event.Observes io.quarkus.runtime.StartupEvent ev) {
        notifier.onPredictionFinished(signals::signal);
    }

    @POST
    @Consumes(MediaType.WILDCARD)
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(summary = "Replicate prediction webhooks (Standard Webhooks signature)")
    public Uni<Map<String, Object>> receive(byte[] body, @HeaderParam(StandardWebhooks.HEADER_ID) String id,
            @HeaderParam(StandardWebhooks.HEADER_TIMESTAMP) String timestamp,
            @HeaderParam(StandardWebhooks.HEADER_SIGNATURE) String signature) {
        String secret = config.replicate().webhookSecret()
                .orElseThrow(() -> new ApiException(ProblemType.NOT_FOUND, "Webhooks are not enabled on this service."));
        StandardWebhooks.Result verdict = StandardWebhooks.verify(secret, id, timestamp, signature, body == null ? new byte[0] : body,
                Instant.now(), StandardWebhooks.DEFAULT_TOLERANCE);
        if (!verdict.ok()) {
            LOG.infof("Rejected a webhook delivery: %s", verdict.name().toLowerCase(Locale.ROOT));
            throw new ApiException(ProblemType.UNAUTHORIZED, "The webhook signature is " + switch (verdict) {
                case MISSING_HEADERS -> "missing.";
                case STALE -> "too old (or from the future).";
                default -> "not valid.";
            }, null, Map.of());
        }
        JsonObject prediction;
        try {
            prediction = new JsonObject(new String(body, java.nio.charset.StandardCharsets.UTF_8));
        } catch (DecodeException e) {
            throw ApiException.invalid("body", "must be a prediction object");
        }
        String predictionId = prediction.getValue("id") instanceof String s && !s.isBlank() && s.length() <= 255 ? s : null;
        if (predictionId == null || id.length() > 255) {
            throw ApiException.invalid("id", "the prediction has no id");
        }
        return intake.accept(id, predictionId, prediction)
                .map(fresh -> Map.<String, Object>of("received", true, "duplicate", !fresh));
    }
}
