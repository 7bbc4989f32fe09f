package dev.imagegen.metrics;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.runtime.StartupEvent;

/**
 * Every meter name and tag of the service, in one place (the README's metrics table lists them).
 * Gauges read values cached elsewhere: a scrape never runs a query. Every meter is registered at
 * start-up, at zero, so that dashboards and alerts see each series before its first event.
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
    /**
     * 1 from Replicate's refusal of the account (HTTP 401/402) to the next success: this replica's worker
     * claims nothing during a pause window and one job at a time between two.
     */
    public static final String CLAIMING_PAUSED = "imagegen.worker.claiming.paused";
    /**
     * Age of the oldest transaction open in the service's database (any session but the probe's own, from
     * {@code pg_stat_activity}; cached, refreshed on a schedule): one held open for minutes keeps every dead
     * tuple of the queue alive and makes each claim scan more of them.
     */
    public static final String DB_OLDEST_TRANSACTION = "imagegen.db.oldest.transaction.seconds";
    /** Event streams (SSE) open on this replica. */
    public static final String STREAMS_OPEN = "imagegen.streams.open";
    /** Tag {@code reason}: user_limit (429), replica_limit (503). */
    public static final String STREAMS_REFUSED = "imagegen.streams.refused";
    public static final String STREAM_EVENTS_SENT = "imagegen.streams.events.sent";
    /** The values of the {@code reason} tag of {@link #STREAMS_REFUSED}. */
    public static final List<String> STREAM_REFUSALS = List.of("user_limit", "replica_limit");

    /** The values of the {@code outcome} tag of {@link #JOBS_FINISHED} and {@link #JOB_RUN}. */
    public static final List<String> OUTCOMES = List.of("completed", "failed", "retried", "released", "lost");
    /** The values of the {@code route} tag of {@link #REPLICATE_REQUESTS}. */
    public static final List<String> REPLICATE_ROUTES = List.of("create_model", "create_version", "get", "cancel", "list");
    /** The {@code status} tag of a Replicate call that got no HTTP answer. */
    public static final String STATUS_ERROR = "error";

    @Inject
    MeterRegistry registry;

    /**
     * Registers every meter whose series are known in advance, at zero. The gauges are registered by
     * their owners: {@link #inFlightGauge} (the worker) and {@link #queueGauges} ({@code queue.QueueStats}).
     * A Replicate call's {@code status} is only known when it answers, so its timer starts with the
     * {@code error} series of each route (zero until a call gets no answer).
     */
    void registerMeters(@Observes StartupEvent ev) {
        enqueuedCounter();
        claimedCounter();
        rescuedCounter();
        prunedCounter();
        throttledCounter();
        queueWaitTimer();
        downloadSummary();
        for (String outcome : OUTCOMES) {
            finishedCounter(outcome);
            runTimer(outcome);
        }
        for (String route : REPLICATE_ROUTES) {
            replicateTimer(route, STATUS_ERROR);
        }
        for (String reason : STREAM_REFUSALS) {
            streamsRefusedCounter(reason);
        }
        streamEventsCounter();
    }

    private Counter streamsRefusedCounter(String reason) {
        return Counter.builder(STREAMS_REFUSED).description("Event streams refused by a cap, by reason")
                .tag("reason", reason).register(registry);
    }

    private Counter streamEventsCounter() {
        return Counter.builder(STREAM_EVENTS_SENT).description("Status events sent on event streams (keep-alives excluded)")
                .register(registry);
    }

    /** A stream refused by a cap ({@code reason}: one of {@link #STREAM_REFUSALS}). */
    public void streamRefused(String reason) {
        streamsRefusedCounter(reason).increment();
    }

    public void streamEventSent() {
        streamEventsCounter().increment();
    }

    /** The open-streams gauge, read from the count the event streams keep. */
    public void streamsOpenGauge(Supplier<Number> open) {
        Gauge.builder(STREAMS_OPEN, open).description("Event streams open on this replica").register(registry);
    }

    private Counter enqueuedCounter() {
        return Counter.builder(JOBS_ENQUEUED).description("Jobs enqueued on this replica").register(registry);
    }

    private Counter claimedCounter() {
        return Counter.builder(JOBS_CLAIMED).description("Jobs claimed by this replica's worker").register(registry);
    }

    private Counter rescuedCounter() {
        return Counter.builder(JOBS_RESCUED).description("Jobs whose lease expired, returned to the queue or failed")
                .register(registry);
    }

    private Counter prunedCounter() {
        return Counter.builder(JOBS_PRUNED).description("Finished jobs deleted (or archived) by retention").register(registry);
    }

    private Counter throttledCounter() {
        return Counter.builder(REPLICATE_THROTTLED).description("429 answers from Replicate").register(registry);
    }

    private Counter finishedCounter(String outcome) {
        return Counter.builder(JOBS_FINISHED).description("Job attempts finished, by outcome").tag("outcome", outcome)
                .register(registry);
    }

    private Timer queueWaitTimer() {
        return Timer.builder(QUEUE_WAIT).description("Time from a job becoming due to its claim")
                .publishPercentileHistogram().register(registry);
    }

    private Timer runTimer(String outcome) {
        return Timer.builder(JOB_RUN).description("Run time of one job attempt").tag("outcome", outcome)
                .publishPercentileHistogram().register(registry);
    }

    private Timer replicateTimer(String route, String status) {
        return Timer.builder(REPLICATE_REQUESTS).description("Calls to the Replicate API")
                .tag("route", route).tag("status", status).register(registry);
    }

    private DistributionSummary downloadSummary() {
        return DistributionSummary.builder(DOWNLOAD_BYTES).baseUnit("bytes").description("Bytes of output images stored")
                .register(registry);
    }

    private final AtomicLong gateClosedUntil = new AtomicLong();

    public void enqueued() {
        enqueuedCounter().increment();
    }

    public void claimed(int n, Duration totalWait, int jobs) {
        if (n > 0) {
            claimedCounter().increment(n);
        }
    }

    public void queueWait(Duration wait) {
        queueWaitTimer().record(wait.isNegative() ? Duration.ZERO : wait);
    }

    public void finished(String outcome, long runNanos) {
        finishedCounter(outcome).increment();
        runTimer(outcome).record(runNanos, TimeUnit.NANOSECONDS);
    }

    public void rescued(int n) {
        rescuedCounter().increment(n);
    }

    public void pruned(int n) {
        if (n > 0) {
            prunedCounter().increment(n);
        }
    }

    public void replicateCall(String route, String status, long nanos) {
        replicateTimer(route, status).record(nanos, TimeUnit.NANOSECONDS);
    }

    public void throttled(Duration wait) {
        throttledCounter().increment();
        gateClosedUntil.accumulateAndGet(System.currentTimeMillis() + wait.toMillis(), Math::max);
    }

    public void downloaded(long bytes) {
        downloadSummary().record(bytes);
    }

    public void inFlightGauge(Supplier<Number> inFlight) {
        Gauge.builder(JOBS_IN_FLIGHT, inFlight).description("Jobs running on this replica").register(registry);
        Gauge.builder(REPLICATE_GATE_CLOSED, () -> gateClosedUntil.get() > System.currentTimeMillis() ? 1 : 0)
                .description("1 while Replicate's 429 gate is closed").register(registry);
    }

    /** The claim pause gauge: 1 from Replicate's refusal of the account to the next success. */
    public void claimPausedGauge(Supplier<Number> paused) {
        Gauge.builder(CLAIMING_PAUSED, paused)
                .description("1 while this replica pauses claiming because Replicate refused the account (HTTP 401/402), until a success")
                .register(registry);
    }

    /** The oldest-open-transaction gauge, read from the age {@code health.OldestTransaction} caches. */
    public void oldestTransactionGauge(Supplier<Number> seconds) {
        Gauge.builder(DB_OLDEST_TRANSACTION, seconds)
                .description("Age of the oldest transaction open in the database, from pg_stat_activity (cached)")
                .baseUnit("seconds").register(registry);
    }

    /** The queue depth gauges, read from the counts {@code queue.QueueStats} caches. */
    public void queueGauges(Supplier<Number> pending, Supplier<Number> due, Supplier<Number> processing,
            Supplier<Number> stuck, Supplier<Number> oldestDueSeconds) {
        String depth = "Jobs in the queue by state (cached, refreshed on a schedule)";
        Gauge.builder(QUEUE_DEPTH, pending).description(depth).tag("status", "pending").register(registry);
        Gauge.builder(QUEUE_DEPTH, due).description(depth).tag("status", "due").register(registry);
        Gauge.builder(QUEUE_DEPTH, processing).description(depth).tag("status", "processing").register(registry);
        Gauge.builder(QUEUE_DEPTH, stuck).description(depth).tag("status", "stuck").register(registry);
        Gauge.builder(QUEUE_OLDEST_DUE, oldestDueSeconds).description("Age of the oldest due pending job (cached)")
                .baseUnit("seconds").register(registry);
    }
}
