package dev.imagegen.worker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.quarkus.runtime.ShutdownDelayInitiatedEvent;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.scheduler.Scheduled;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.core.Context;
import io.vertx.core.impl.VertxInternal;
import io.vertx.mutiny.core.Vertx;

import dev.imagegen.config.ImagegenConfig;
import dev.imagegen.metrics.Metrics;
import dev.imagegen.queue.ClaimPause;
import dev.imagegen.queue.Job;
import dev.imagegen.queue.JobNotifier;
import dev.imagegen.queue.JobRepository;
import dev.imagegen.queue.ReplicaId;

/**
 * The replica's worker loop. Wake-ups (an enqueue here, NOTIFY from another replica, a reconnect, a
 * finished job, the jittered scheduler tick) trigger a claim of at most the free slots, one claim at a
 * time; each claimed job runs on its own, and at most {@code IMAGEGEN_WORKER_MAX_PARALLEL_JOBS} run at
 * once. Each run works under the lease of its own claim: a heartbeat extends every run's lease and
 * stops the runs whose lease is gone (canceled, rescued), and a claim of a job this replica is still
 * running (its old lease expired while heartbeats failed, and the rescuer returned it) stops the old run
 * first, so a job never runs twice here. While {@link ClaimPause} says so (Replicate refused the account)
 * it claims nothing, then one job at a time until one succeeds. On shutdown it stops claiming, gives
 * running jobs a grace period, and returns the rest to the queue.
 */
@ApplicationScoped
public class JobProducer {

    private static final Logger LOG = Logger.getLogger(JobProducer.class);

    /** How long a run the heartbeat found without its lease may take to end by itself before it is stopped. */
    static final Duration LOST_RUN_GRACE = Duration.ofSeconds(1);

    @Inject
    JobRepository jobs;

    @Inject
    JobExecutor executor;

    @Inject
    JobNotifier notifier;

    @Inject
    ReplicaId replica;

    @Inject
    ImagegenConfig config;

    @Inject
    Metrics metrics;

    @Inject
    Vertx vertx;

    @Inject
    ClaimPause pause;

    private final AtomicInteger inFlight = new AtomicInteger();
    private final Map<UUID, RunningJob> running = new ConcurrentHashMap<>();
    private final AtomicBoolean claiming = new AtomicBoolean();
    private final AtomicBoolean wakeAgain = new AtomicBoolean();
    /** Whether the one job probing Replicate after a claim pause is still running. */
    private final AtomicBoolean probeRunning = new AtomicBoolean();
    private volatile boolean accepting;
    /**
     * The event-loop context every claim and run starts on: one of Vert.x's own, made at startup. Runs used
     * to start on whatever context woke the worker, often an HTTP request's, and the clients they created
     * lazily there (Replicate's REST client, the output downloader) belonged to the HTTP server's verticle:
     * when Quarkus stopped the HTTP server at shutdown, it closed them, and every job still talking to
     * Replicate or downloading in the grace period failed at once ("Connection was closed", "could not
     * connect to the output host") and spent an attempt (FaultsIT).
     */
    private volatile Context jobContext;
    /** Completed when, with claiming stopped, the last run has ended: what shutdown waits for. */
    private final CompletableFuture<Void> drained = new CompletableFuture<>();
    private volatile long lastLoopNanos = System.nanoTime();

    /** The result of a synchronous {@code process-jobs} run. */
    public record ProcessResult(int processed, int errors) {
    }

    void start(@Observes StartupEvent ev) {
        FileCacheShutdownHook.detach(vertx.getDelegate());
        jobContext = ((VertxInternal) vertx.getDelegate()).createEventLoopContext();
        metrics.inFlightGauge(inFlight::get);
        metrics.claimPausedGauge(() -> pause.probing() ? 1 : 0);
        if (!config.worker().enabled()) {
            LOG.info("Worker disabled on this replica (IMAGEGEN_WORKER_ENABLED=false)");
            return;
        }
        accepting = true;
        notifier.onWake(this::wake);
        wake();
    }

    /** The jittered fallback tick: claims even if every notification was lost. */
    @Scheduled(every = "${imagegen.worker.poll-interval:5s}", delayed = "${imagegen.worker.poll-interval:5s}", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void tick() {
        lastLoopNanos = System.nanoTime();
        if (!accepting) {
            return;
        }
        long jitter = ThreadLocalRandom.current().nextLong(Math.max(1, config.worker().pollInterval().toMillis() / 5));
        vertx.setTimer(Math.max(1, jitter), id -> wake());
    }

    @Scheduled(every = "${imagegen.worker.heartbeat-interval:30s}", delayed = "1s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    Uni<Void> heartbeat() {
        if (running.isEmpty()) {
            return Uni.createFrom().voidItem();
        }
        List<RunningJob> runs = new ArrayList<>(running.values());
        int batch = Math.max(1, config.worker().claimBatchSize());
        return Multi.createFrom().range(0, (runs.size() + batch - 1) / batch)
                .onItem().transformToUniAndConcatenate(i -> heartbeat(runs.subList(i * batch, Math.min(runs.size(), (i + 1) * batch))))
                .collect().last().replaceWithVoid();
    }

    /**
     * Extends the leases of one batch of runs (as many as one claim takes) and stops those whose lease is
     * gone. Measured: one statement for 10,000 runs missed its 10 s timeout in 4 of ~8 heartbeats on a loaded
     * machine, leaving every lease to run down together; a failed batch now leaves only its own runs for the
     * next heartbeat.
     */
    private Uni<Void> heartbeat(List<RunningJob> runs) {
        Map<UUID, String> leases = new HashMap<>();
        runs.forEach(r -> leases.put(r.job().id(), r.job().leaseOwner()));
        return jobs.heartbeat(leases, config.worker().lease())
                .ifNoItem().after(Duration.ofSeconds(10)).fail()
                .invoke(held -> {
                    for (RunningJob r : runs) {
                        if (!held.contains(r.job().id())) {
                            stopLater(r);
                        }
                    }
                })
                .replaceWithVoid()
                .onFailure().recoverWithUni(e -> {
                    LOG.warnf("Heartbeat of %d runs failed (%s); their leases are extended at the next one", runs.size(), e.getMessage());
                    return Uni.createFrom().voidItem();
                });
    }

    /**
     * Stops a run whose lease the heartbeat no longer found, unless it ends by itself first: a run whose own
     * completion committed just before the heartbeat is missing too, and ends within milliseconds (its
     * outcome then counts as what it was, not as lost). Found by the fault cases' short heartbeats: runs
     * logged as "no longer held" right after completing, and were counted lost.
     */
    private void stopLater(RunningJob r) {
        vertx.setTimer(LOST_RUN_GRACE.toMillis(), id -> jobContext.runOnContext(v -> {
            if (stop(r)) {
                LOG.infof("job=%s generation=%s: lease %s is no longer held (canceled or rescued); run stopped",
                        r.job().id(), r.job().generationId(), r.job().leaseOwner());
            }
        }));
    }

    /** Claims as many jobs as there are free slots (on the jobs' own context), unless a claim is already under way. */
    public void wake() {
        if (!accepting) {
            return;
        }
        jobContext.runOnContext(v -> claimFreeSlots());
    }

    private void claimFreeSlots() {
        if (!accepting) {
            return;
        }
        wakeAgain.set(true);
        if (!claiming.compareAndSet(false, true)) {
            return;
        }
        wakeAgain.set(false);
        int free = config.worker().maxParallelJobs() - inFlight.get();
        if (free <= 0 || pause.paused()) {
            claiming.set(false);
            return;
        }
        // After a pause, one job at a time probes whether Replicate accepts the account again.
        boolean probe = pause.probing();
        if (probe && probeRunning.get()) {
            claiming.set(false);
            return;
        }
        // At most one batch a claim: a claim of every free slot at once (5,000 jobs) outlived its 30 s timeout
        // on a loaded machine and left its rows claimed for nobody; a full batch claims again at once below.
        int limit = probe ? 1 : Math.min(free, Math.max(1, config.worker().claimBatchSize()));
        claim(limit)
                .subscribe().with(list -> {
                    for (Job job : list) {
                        if (probe) {
                            probeRunning.set(true);
                            launch(job, outcome -> probeRunning.set(false));
                        } else {
                            launch(job, null);
                        }
                    }
                    claiming.set(false);
                    // More may be waiting: a full batch (not for a probe), or a wake-up that came while claiming.
                    if ((list.size() == limit && !probe) || wakeAgain.get()) {
                        vertx.runOnContext(this::wake);
                    }
                }, e -> {
                    claiming.set(false);
                    LOG.warnf("Claiming jobs failed (%s); the next tick tries again", e.getMessage());
                });
    }

    private Uni<List<Job>> claim(int limit) {
        inFlight.addAndGet(limit);
        return jobs.claim(replica.value(), limit, config.worker().lease())
                .ifNoItem().after(Duration.ofSeconds(30)).fail()
                .onItemOrFailure().invoke((list, e) -> {
                    int got = list == null ? 0 : list.size();
                    inFlight.addAndGet(got - limit);
                    if (got > 0) {
                        metrics.claimed(got, null, got);
                    }
                });
    }

    private void launch(Job job, java.util.function.Consumer<JobExecutor.Outcome> done) {
        RunningJob previous = running.get(job.id());
        if (previous != null && stop(previous)) {
            // Its old lease expired while heartbeats failed and the rescuer returned the job: that run can
            // write nothing any more (every write names its lease), and must not pay for a second prediction.
            LOG.warnf("job=%s generation=%s claimed again while its previous run (lease %s) was still going; that run is stopped",
                    job.id(), job.generationId(), previous.job().leaseOwner());
        }
        RunningJob run = new RunningJob(job);
        running.put(job.id(), run);
        run.subscription = executor.execute(job)
                .onTermination().invoke(() -> {
                    running.remove(job.id(), run);
                    inFlight.decrementAndGet();
                    completeIfDrained();
                })
                .onCancellation().invoke(() -> {
                    if (done != null) {
                        done.accept(JobExecutor.Outcome.LOST);
                    }
                })
                .subscribe().with(outcome -> {
                    if (done != null) {
                        done.accept(outcome);
                    }
                    wake();
                }, e -> {
                    LOG.errorf(e, "job=%s generation=%s: executor failed", job.id(), job.generationId());
                    if (done != null) {
                        done.accept(JobExecutor.Outcome.LOST);
                    }
                    wake();
                });
    }

    /**
     * Stops one run here without recording anything (its lease is gone); false when it had already
     * ended or been stopped.
     */
    private boolean stop(RunningJob r) {
        if (!running.remove(r.job().id(), r)) {
            return false;
        }
        // Cancelling runs the subscription's termination hook, which frees the slot.
        r.cancel();
        metrics.finished("lost", System.nanoTime() - r.startedNanos);
        completeIfDrained();
        return true;
    }

    private void completeIfDrained() {
        if (!accepting && running.isEmpty()) {
            drained.complete(null);
        }
    }

    /**
     * Claims due jobs now (up to the free slots, one claim batch), runs them, and answers when they are done: the
     * operators' {@code process-jobs}.
     */
    public Uni<ProcessResult> processNow() {
        int free = config.worker().maxParallelJobs() - inFlight.get();
        if (free <= 0 || !accepting) {
            return Uni.createFrom().item(new ProcessResult(0, 0));
        }
        Context context = jobContext;
        return claim(Math.min(free, Math.max(1, config.worker().claimBatchSize()))).runSubscriptionOn(task -> context.runOnContext(v -> task.run())).flatMap(list -> {
            if (list.isEmpty()) {
                return Uni.createFrom().item(new ProcessResult(0, 0));
            }
            List<Uni<JobExecutor.Outcome>> outcomes = new ArrayList<>();
            for (Job job : list) {
                outcomes.add(Uni.createFrom().emitter(em -> launch(job, em::complete)));
            }
            return Uni.join().all(outcomes).andCollectFailures().map(all -> {
                int errors = (int) all.stream().filter(o -> o.error() || o == JobExecutor.Outcome.LOST).count();
                return new ProcessResult(all.size(), errors);
            });
        });
    }

    public int inFlight() {
        return inFlight.get();
    }

    public boolean running() {
        return accepting;
    }

    /** Seconds since the scheduler tick last ran: the liveness check's signal that the loop is alive. */
    public double secondsSinceLastTick() {
        return (System.nanoTime() - lastLoopNanos) / 1e9;
    }

    /**
     * First step of a shutdown when {@code quarkus.shutdown.delay} is set: stop claiming, so readiness
     * (WorkerReadinessCheck) goes DOWN while the HTTP server still answers, and no new job starts.
     */
    void stopClaiming(@Observes ShutdownDelayInitiatedEvent ev) {
        stopClaiming();
    }

    private void stopClaiming() {
        if (accepting) {
            accepting = false;
            LOG.infof("Shutting down: no more claims; %d job(s) running", running.size());
        }
        completeIfDrained();
    }

    /**
     * Gives the running jobs the grace period, then returns the rest to the queue without spending an
     * attempt. This runs on Quarkus' shutdown thread (never an event loop), so the bounded waits here block
     * nothing else; the runs themselves complete {@link #drained} when the last one ends.
     */
    void shutdown(@Observes ShutdownEvent ev) {
        if (!config.worker().enabled()) {
            return;
        }
        stopClaiming();
        Duration grace = config.worker().shutdownGrace();
        try {
            drained.get(grace.toMillis(), TimeUnit.MILLISECONDS);
            return;
        } catch (TimeoutException e) {
            // the rest is released below
        } catch (ExecutionException e) {
            LOG.warnf("Waiting for running jobs failed (%s)", e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        releaseUnfinished();
    }

    private void releaseUnfinished() {
        List<RunningJob> rest = new ArrayList<>(running.values());
        if (rest.isEmpty()) {
            return;
        }
        LOG.infof("Returning %d unfinished job(s) to the queue", rest.size());
        List<Uni<JobRepository.Transition>> releases = new ArrayList<>();
        for (RunningJob r : rest) {
            r.cancel();
            running.remove(r.job().id(), r);
            releases.add(jobs.release(r.job().id(), r.job().leaseOwner(), Duration.ZERO));
        }
        try {
            Uni.join().all(releases).andCollectFailures().await().atMost(Duration.ofSeconds(10));
        } catch (RuntimeException e) {
            LOG.warnf("Could not return every job (%s); their leases expire and the rescuer returns them", e.getMessage());
        }
    }
}
