package dev.imagegen.metrics;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * Every meter name and tag of the service, in one place (the README's metrics table lists them).
 * Gauges read values cached elsewhere: a scrape never runs a query.
 */
@ApplicationScoped
public class Metrics {

    public static final String JOBS_ENQUEUED = "imagegen.jobs.enqueued";
    public static final String JOBS_CLAIMED = "imagegen.jobs.claimed";
    /** Tag {@code outcome}: completed, failed, retried, released, lost. */
    public static final String JOBS_FINISHED = "imagegen.jobs.finished";
    public static final String JOBS_RESCUED = "imagegen.jobs.rescued";
    public static final String JOBS_PRUNED = "imagegen.jobs.pruned";
    public static final String JOBS_IN_FLIGHT = "imagegen.jobs.in.flight";
    public static final String QUEUE_WAIT = "imagegen.jobs.queue.wait";
    public static final String JOB_RUN = "imagegen.jobs.run";
    /** Tags {@code route} (create_model, create_version, get, cancel, list) and {@code status} (HTTP code or error). */
    public static final String REPLICATE_REQUESTS = "imagegen.replicate.requests";
    public static final String REPLICATE_THROTTLED = "imagegen.replicate.throttled";
    public static final String REPLICATE_GATE_CLOSED = "imagegen.replicate.gate.closed";
    public static final String DOWNLOAD_BYTES = "imagegen.download.bytes";
    /** Tag {@code status}: pending, due, processing, stuck. */
    public static final String QUEUE_DEPTH = "imagegen.queue.depth";
    public static final String QUEUE_OLDEST_DUE = "imagegen.queue.oldest.due.seconds";

    @Inject
    MeterRegistry registry;

    private final AtomicLong gateClosedUntil = new AtomicLong();

    public void enqueued() {
        registry.counter(JOBS_ENQUEUED).increment();
    }

    public void claimed(int n, Duration totalWait, int jobs) {
        if (n > 0) {
            registry.counter(JOBS_CLAIMED).increment(n);
        }
    }

    public void queueWait(Duration wait) {
        Timer.builder(QUEUE_WAIT).description("Time from a job becoming due to its claim")
                .publishPercentileHistogram().register(registry).record(wait.isNegative() ? Duration.ZERO : wait);
    }

    public void finished(String outcome, long runNanos) {
        Counter.builder(JOBS_FINISHED).tag("outcome", outcome).register(registry).increment();
        Timer.builder(JOB_RUN).description("Run time of one job attempt").tag("outcome", outcome)
                .publishPercentileHistogram().register(registry).record(runNanos, TimeUnit.NANOSECONDS);
    }

    public void rescued(int n) {
        registry.counter(JOBS_RESCUED).increment(n);
    }

    public void pruned(int n) {
        registry.counter(JOBS_PRUNED).increment(n);
    }

    public void replicateCall(String route, String status, long nanos) {
        Timer.builder(REPLICATE_REQUESTS).description("Calls to the Replicate API")
                .tag("route", route).tag("status", status)
                .register(registry).record(nanos, TimeUnit.NANOSECONDS);
    }

    public void throttled(Duration wait) {
        registry.counter(REPLICATE_THROTTLED).increment();
        gateClosedUntil.accumulateAndGet(System.currentTimeMillis() + wait.toMillis(), Math::max);
    }

    public void downloaded(long bytes) {
        DistributionSummary.builder(DOWNLOAD_BYTES).baseUnit("bytes").description("Bytes of output images stored")
                .register(registry).record(bytes);
    }

    public void inFlightGauge(Supplier<Number> inFlight) {
        Gauge.builder(JOBS_IN_FLIGHT, inFlight).description("Jobs running on this replica").register(registry);
        Gauge.builder(REPLICATE_GATE_CLOSED, () -> gateClosedUntil.get() > System.currentTimeMillis() ? 1 : 0)
                .description("1 while Replicate's 429 gate is closed").register(registry);
    }

    public void queueGauges(Supplier<Number> pending, Supplier<Number> due, Supplier<Number> processing,
            Supplier<Number> stuck, Supplier<Number> oldestDueSeconds) {
        Gauge.builder(QUEUE_DEPTH, pending).tag("status", "pending").register(registry);
        Gauge.builder(QUEUE_DEPTH, due).tag("status", "due").register(registry);
        Gauge.builder(QUEUE_DEPTH, processing).tag("status", "processing").register(registry);
        Gauge.builder(QUEUE_DEPTH, stuck).tag("status", "stuck").register(registry);
        Gauge.builder(QUEUE_OLDEST_DUE, oldestDueSeconds).register(registry);
    }
}
