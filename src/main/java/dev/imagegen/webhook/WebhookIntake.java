package dev.imagegen.webhook;

import java.time.Duration;
import java.util.Locale;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;

/**
 * What a verified delivery does: a terminal status wakes the job waiting on this replica at once, or
 * else is recorded with a cross-replica wake-up; every delivery is recorded once by its id. The
 * resource verifies and parses, then hands over here (it never writes the table itself).
 */
@ApplicationScoped
public class WebhookIntake {

    /** A record that takes longer than this fails the delivery (Replicate sends it again). */
    static final Duration RECORD_TIMEOUT = Duration.ofSeconds(10);

    @Inject
    WebhookDeliveryRepository deliveries;

    @Inject
    PredictionSignals signals;

    /** Answers whether this delivery is new (false: a replay, acknowledged and ignored). */
    public Uni<Boolean> accept(String deliveryId, String predictionId, JsonObject prediction) {
        String status = prediction.getValue("status") instanceof String s ? s.toLowerCase(Locale.ROOT) : "unknown";
        boolean terminal = switch (status) {
            case "succeeded", "failed", "canceled", "aborted" -> true;
            default -> false;
        };
        boolean local = terminal && signals.signal(predictionId);
        return deliveries.record(deliveryId, predictionId, status, prediction, terminal && !local)
                .ifNoItem().after(RECORD_TIMEOUT).fail();
    }
}
