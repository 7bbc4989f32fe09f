package dev.imagegen.health;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

import io.smallrye.health.api.AsyncHealthCheck;
import io.smallrye.mutiny.Uni;

import dev.imagegen.config.ImagegenConfig;
import dev.imagegen.queue.JobNotifier;
import dev.imagegen.worker.JobProducer;

/**
 * Ready while the worker accepts jobs, or when this replica runs no worker by configuration
 * ({@code IMAGEGEN_WORKER_ENABLED=false}, reported as {@code enabled: false}). It is DOWN only while the
 * worker has stopped claiming on a replica that should run it (a shutdown under way).
 *
 * <p>The LISTEN connection is reported as {@code listening} and never makes the check DOWN: without it
 * the scheduler tick still claims jobs and the event streams still read, only later. Data also shows
 * {@code running}, {@code in_flight} and {@code max_parallel_jobs}. Nothing here waits on anything.
 */
@Readiness
@ApplicationScoped
public class WorkerReadinessCheck implements AsyncHealthCheck {

    static final String NAME = "worker";

    @Inject
    JobProducer producer;

    @Inject
    JobNotifier notifier;

    @Inject
    ImagegenConfig config;

    @Override
    public Uni<HealthCheckResponse> call() {
        boolean enabled = config.worker().enabled();
        boolean running = producer.running();
        HealthCheckResponseBuilder b = HealthCheckResponse.named(NAME)
                .status(!enabled || running)
                .withData("enabled", enabled)
                .withData("running", running)
                .withData("listening", notifier.listening())
                .withData("in_flight", producer.inFlight())
                .withData("max_parallel_jobs", config.worker().maxParallelJobs());
        return Uni.createFrom().item(b.build());
    }
}
