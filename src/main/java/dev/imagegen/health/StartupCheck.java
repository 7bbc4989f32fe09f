package dev.imagegen.health;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Startup;

import io.smallrye.common.annotation.NonBlocking;

import dev.imagegen.config.ImagegenConfig;
import dev.imagegen.worker.JobProducer;

/**
 * Started once start-up has run: migrations applied by Flyway, the expected schema version read, and
 * the worker started (where it is enabled). Data: {@code expected_schema_version},
 * {@code worker_enabled}, {@code worker_running}. No database call.
 */
@Startup
@NonBlocking
@ApplicationScoped
public class StartupCheck implements HealthCheck {

    static final String NAME = "startup";

    @Inject
    ExpectedSchema schema;

    @Inject
    JobProducer producer;

    @Inject
    ImagegenConfig config;

    @Override
    public HealthCheckResponse call() {
        boolean enabled = config.worker().enabled();
        boolean running = producer.running();
        return HealthCheckResponse.named(NAME)
                .status(schema.started() && (!enabled || running))
                .withData("expected_schema_version", schema.newest().map(v -> v.getVersion()).orElse("unknown"))
                .withData("worker_enabled", enabled)
                .withData("worker_running", running)
                .build();
    }
}
