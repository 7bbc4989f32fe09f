package dev.imagegen.webhook;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

import dev.imagegen.api.ApiException;
import dev.imagegen.api.ProblemType;
import dev.imagegen.config.ImagegenConfig;
import dev.imagegen.queue.JobNotifier;

/**
 * Replicate's completion callbacks: verified with the Standard Webhooks signature (every {@code v1,} entry
 * tried, constant-time, 5-minute tolerance), parsed, classified and recorded. A forged, missing or stale
 * signature is a 401 and changes nothing; a delivery id seen before is acknowledged and ignored; a terminal
 * status wakes the job waiting on this replica at once, or else is recorded with a cross-replica wake-up; a
 * delivery that is not terminal (out of order, or an event we did not ask for) is recorded but wakes nothing.
 */
@ApplicationScoped
public class WebhookService {

    private static final Logger LOG = Logger.getLogger(WebhookService.class);

    /** A record that takes longer than this fails the delivery (Replicate sends it again). */
    static final Duration RECORD_TIMEOUT = Duration.ofSeconds(10);

    /** Statuses after which a prediction changes no more. */
    private static final List<String> TERMINAL = List.of("succeeded", "failed", "canceled", "aborted");

    @Inject
    ImagegenConfig config;

    @Inject
    WebhookDeliveryRepository deliveries;

    @Inject
    PredictionSignals signals;

    @Inject
    JobNotifier notifier;

    /** A webhook received by another replica reaches the jobs waiting here through NOTIFY. */
    void wireCrossReplicaWakeUps(@Observes StartupEvent ev) {
        notifier.onPredictionFinished(signals::signal);
    }

    /**
     * Verifies, parses and records one delivery (the raw body and the three Standard Webhooks headers).
     * Answers whether it is new (false: a replay, acknowledged and ignored).
     */
    public Uni<Boolean> receive(byte[] body, String deliveryId, String timestamp, String signature) {
        String secret = config.replicate().webhookSecret()
                .orElseThrow(() -> new ApiException(ProblemType.NOT_FOUND, "Webhooks are not enabled on this service."));
        StandardWebhooks.Result verdict = StandardWebhooks.verify(secret, deliveryId, timestamp, signature,
                body == null ? new byte[0] : body, Instant.now(), StandardWebhooks.DEFAULT_TOLERANCE);
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
            prediction = new JsonObject(new String(body, StandardCharsets.UTF_8));
        } catch (DecodeException e) {
            throw ApiException.invalid("body", "must be a prediction object");
        }
        String predictionId = prediction.getValue("id") instanceof String s && !s.isBlank() && s.length() <= 255 ? s : null;
        if (predictionId == null || deliveryId.length() > 255) {
            throw ApiException.invalid("id", "the prediction has no id");
        }
        return record(deliveryId, predictionId, prediction);
    }

    /** Wakes whoever waits on a terminal status, and records the delivery once by its id. */
    private Uni<Boolean> record(String deliveryId, String predictionId, JsonObject prediction) {
        String status = prediction.getValue("status") instanceof String s ? s.toLowerCase(Locale.ROOT) : "unknown";
        boolean terminal = TERMINAL.contains(status);
        boolean local = terminal && signals.signal(predictionId);
        return deliveries.record(deliveryId, predictionId, status, prediction, terminal && !local)
                .ifNoItem().after(RECORD_TIMEOUT).fail();
    }
}
