package dev.imagegen.queue.maintenance;

import java.time.Duration;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.quarkus.arc.All;
import io.quarkus.scheduler.Scheduled;
import io.smallrye.mutiny.Uni;

import dev.imagegen.config.ImagegenConfig;
import dev.imagegen.metrics.Metrics;
import dev.imagegen.queue.JobStatus;

/**
 * Retention: deletes (or, with {@code IMAGEGEN_JOBS_ARCHIVE=true}, archives) finished jobs, completed
 * ones after {@code IMAGEGEN_JOBS_RETENTION_COMPLETED} (7 days) and failed or canceled ones after
 * {@code IMAGEGEN_JOBS_RETENTION_FAILED} (30 days); then every {@link RetentionSweep} (expired
 * Idempotency-Keys, webhook deliveries older than 7 days), which the packages owning those tables
 * provide, so the queue depends on none of them.
 *
 * <p>Every batch is one short transaction of at most {@link #BATCH} rows that skips rows others hold,
 * so no lock is held for long and the claim never waits on it. One replica prunes at a time: each job
 * batch first takes a transaction-scoped advisory lock without waiting, and a replica that finds it
 * taken leaves this run to the one holding it. Runs every {@code imagegen.jobs.prune-interval}
 * (default 10 minutes; {@code off} disables the schedule); a run still going when the next is due is
 * skipped.
 */
@ApplicationScoped
public class JobPruner {

    private static final Logger LOG = Logger.getLogger(JobPruner.class);

    /** Rows per statement. */
    static final int BATCH = 1000;

    /** Batches per table and run, at most: a huge backlog is worked off over several runs. */
    static final int MAX_BATCHES = 500;

    /** One batch that takes longer than this fails the run (the next run goes on). */
    static final Duration BATCH_TIMEOUT = Duration.ofSeconds(60);

    @Inject
    RetentionRepository retention;

    /** The other tables to sweep, in the order of their names (so every run sweeps them alike). */
    @All
    List<RetentionSweep> sweeps;

    @Inject
    ImagegenConfig config;

    @Inject
    Metrics metrics;

    /**
     * What one run did. {@code ran} is false when another replica held the retention lock;
     * {@code swept} has the rows each {@link RetentionSweep} deleted, by its name.
     */
    public record Result(boolean ran, boolean archived, long completed, long failed, long canceled, Map<String, Long> swept) {

        public long jobs() {
            return completed + failed + canceled;
        }

        /** Rows the sweep of that name deleted (0 when it did not run). */
        public long swept(String name) {
            return swept.getOrDefault(name, 0L);
        }
    }

    @Scheduled(every = "${imagegen.jobs.prune-interval:10m}", delayed = "30s",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    Uni<Void> scheduled() {
        return pruneNow().invoke(r -> {
            long swept = r.swept().values().stream().mapToLong(Long::longValue).sum();
            if (r.jobs() + swept > 0) {
                LOG.infof("Retention %s %d completed, %d failed and %d canceled job(s); deleted %s", r.archived() ? "archived"
                        : "deleted", r.completed(), r.failed(), r.canceled(), r.swept());
            }
        }).replaceWithVoid().onFailure().recoverWithUni(e -> {
            LOG.warnf("Retention failed (%s); the next run goes on where it stopped", e.getMessage());
            return Uni.createFrom().voidItem();
        });
    }

    /** One run with the configured retention periods and archive mode. */
    public Uni<Result> pruneNow() {
        var c = config.jobs();
        return prune(c.retentionCompleted(), c.retentionFailed(), c.archive());
    }

    /**
     * One run: completed jobs older than {@code completedAfter}, failed and canceled ones older than
     * {@code failedAfter} (moved to the archive when {@code archive}), then every {@link RetentionSweep}. When another replica holds the retention lock, this run stops there and
     * leaves the rest to it ({@code ran} is false if it had not pruned anything yet).
     */
    public Uni<Result> prune(Duration completedAfter, Duration failedAfter, boolean archive) {
        long[] counts = new long[3];
        return jobs(JobStatus.COMPLETED, completedAfter, archive, counts, 0)
                .flatMap(held -> held ? jobs(JobStatus.FAILED, failedAfter, archive, counts, 1) : Uni.createFrom().item(false))
                .flatMap(held -> held ? jobs(JobStatus.CANCELED, failedAfter, archive, counts, 2) : Uni.createFrom().item(false))
                .flatMap(held -> {
                    if (!held) {
                        boolean ran = counts[0] + counts[1] + counts[2] > 0;
                        if (!ran) {
                            LOG.debug("Retention is running on another replica; this run is skipped");
                        }
                        return Uni.createFrom().item(new Result(ran, archive, counts[0], counts[1], counts[2], Map.of()));
                    }
                    List<RetentionSweep> ordered = sweeps.stream().sorted(Comparator.comparing(RetentionSweep::name)).toList();
                    return sweep(ordered, 0, new LinkedHashMap<>())
                            .map(swept -> new Result(true, archive, counts[0], counts[1], counts[2], Map.copyOf(swept)));
                });
    }

    /** The sweeps from {@code next} on, one after the other, each until a batch comes back short. */
    private Uni<Map<String, Long>> sweep(List<RetentionSweep> ordered, int next, Map<String, Long> swept) {
        if (next == ordered.size()) {
            return Uni.createFrom().item(swept);
        }
        RetentionSweep s = ordered.get(next);
        return rows(() -> s.pruneBatch(BATCH), 0, 0).flatMap(n -> {
            swept.put(s.name(), n);
            return sweep(ordered, next + 1, swept);
        });
    }

    /**
     * Batches of one status until one comes back short, adding to {@code counts[slot]}; answers false
     * when another replica held the retention lock.
     */
    private Uni<Boolean> jobs(JobStatus status, Duration age, boolean archive, long[] counts, int slot) {
        return batches(status, age, archive, counts, slot, 0);
    }

    private Uni<Boolean> batches(JobStatus status, Duration age, boolean archive, long[] counts, int slot, int done) {
        return retention.pruneFinishedBatch(status, age, BATCH, archive)
                .ifNoItem().after(BATCH_TIMEOUT).fail()
                .flatMap(b -> {
                    if (!b.locked()) {
                        return Uni.createFrom().item(false);
                    }
                    metrics.pruned(b.rows());
                    counts[slot] += b.rows();
                    if (b.rows() < BATCH || done + 1 >= MAX_BATCHES) {
                        return Uni.createFrom().item(true);
                    }
                    return batches(status, age, archive, counts, slot, done + 1);
                });
    }

    /** Batches of a plain delete until one comes back short. */
    private Uni<Long> rows(Supplier<Uni<Integer>> batch, long done, int batches) {
        return batch.get()
                .ifNoItem().after(BATCH_TIMEOUT).fail()
                .flatMap(n -> {
                    long total = done + n;
                    if (n < BATCH || batches + 1 >= MAX_BATCHES) {
                        return Uni.createFrom().item(total);
                    }
                    return rows(batch, total, batches + 1);
                });
    }
}
