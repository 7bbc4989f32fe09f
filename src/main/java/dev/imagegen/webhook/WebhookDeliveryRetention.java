package dev.imagegen.webhook;

import java.time.Duration;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.smallrye.mutiny.Uni;

import dev.imagegen.queue.maintenance.RetentionSweep;

/** Retention of webhook deliveries: replays are recognised for {@link #RETENTION}, then forgotten. */
@ApplicationScoped
public class WebhookDeliveryRetention implements RetentionSweep {

    public static final String NAME = "webhook deliveries";

    /** How long replayed webhook deliveries are remembered. */
    static final Duration RETENTION = Duration.ofDays(7);

    @Inject
    WebhookDeliveryRepository deliveries;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Uni<Integer> pruneBatch(int limit) {
        return deliveries.prune(RETENTION, limit);
    }
}
