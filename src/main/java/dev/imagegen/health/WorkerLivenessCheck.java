package dev.imagegen.health;

import java.time.Duration;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Liveness;

import io.smallrye.common.annotation.NonBlocking;

import dev.imagegen.config.ImagegenConfig;
import dev.imagegen.worker.JobProducer;

/**
 * Alive while the worker loop's scheduler tick keeps running: the last tick is less than three poll
 * intervals plus 30 s ago. The tick runs on every replica (with the worker disabled too), so a stuck
 * scheduler or an exhausted worker pool is caught everywhere. No database call and no wait: a database
 * outage must never get a healthy pod restarted (readiness reports it instead).
 *
 * <p>Data: {@code seconds_since_last_tick}, {@code max_seconds}, {@code worker_enabled}.
 */
@Liveness
@NonBlocking
@ApplicationScoped
public class WorkerLivenessCheck implements HealthCheck {

    static final String NAME = "worker-loop";
    static final Duration SLACK = Duration.ofSeconds(30);

    @Inject
    JobProducer producer;

    @Inject
    ImagegenConfig config;

    @Override
    public HealthCheckResponse call() {
        double since = producer.secondsSinceLastTick();
        double max = maxSeconds(config.worker().pollInterval());
        return HealthCheckResponse.named(NAME)
                .status(since < max)
                .withData("seconds_since_last_tick", (long) since)
                .withData("max_seconds", (long) max)
                .withData("worker_enabled", config.worker().enabled())
                .build();
    }

    /** Three poll intervals plus {@link #SLACK}. */
    static double maxSeconds(Duration pollInterval) {
        return 3 * pollInterval.toMillis() / 1000.0 + SLACK.toSeconds();
    }
}
