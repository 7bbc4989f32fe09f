package dev.imagegen.queue.maintenance;

import java.time.Duration;
import java.util.function.Supplier;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.quarkus.scheduler.Scheduled;
import io.smallrye.mutiny.Uni;

import dev.imagegen.config.ImagegenConfig;
import dev.imagegen.generation.IdempotencyKeyRepository;
import dev.imagegen.metrics.Metrics;
import dev.imagegen.queue.JobRepository;
import dev.imagegen.queue.JobStatus;
import dev.imagegen.webhook.WebhookDeliveryRepository;

/**
 * Retention: deletes (or, with {@code IMAGEGEN_JOBS_ARCHIVE=true}, archives) finished jobs, completed
 * ones after {@code IMAGEGEN_JOBS_RETENTION_COMPLETED} (7 days) and failed or canceled ones after
 * {@code IMAGEGEN_JOBS_RETENTION_FAILED} (30 days); then expired Idempotency-Keys and webhook deliveries
 * older than 7 days.
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

    /** How long replayed webhook deliveries are remembered. */
    static final Duration WEBHOOK_RETENTION = Duration.ofDays(7);

    /** One batch that takes longer than this fails the run (the next run goes on). */
    static final Duration BATCH_TIMEOUT = Duration.ofSeconds(60);

    @Inject
    JobRepository jobs;

    @Inject
    IdempotencyKeyRepository idempotencyKeys;

    @Inject
    WebhookDeliveryRepository webhookDeliveries;

    @Inject
    ImagegenConfig config;

    @Inject
    Metrics metrics;

    /** What one run did. {@code ran} is false when another replica held the retention lock. */
    public record Result(boolean ran, boolean archived, long completed, long failed, long canceled, long idempotencyKeys,
            long webhookDeliveries) {

        public long jobs() {
            return completed + failed + canceled;
        }
    }

    @Scheduled(every = "${imagegen.jobs.prune-interval:10m}", delayed = "30s",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    Uni<Void> scheduled() {
        return pruneNow().invoke(r -> {
            if (r.jobs() + r.idempotencyKeys() + r.webhookDeliveries() > 0) {
                LOG.infof("Retention %s %d completed, %d failed and %d canceled job(s); deleted %d expired idempotency key(s) "
                        + "and %d webhook deliveries", r.archived() ? "archived" : "deleted", r.completed(), r.failed(),
                        r.canceled(), r.idempotencyKeys(), r.webhookDeliveries());
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
     * {@code failedAfter} (moved to the archive when {@code archive}), then expired keys and old
     * webhook deliveries. When another replica holds the retention lock, this run stops there and
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
                        return Uni.createFrom().item(new Result(ran, archive, counts[0], counts[1], counts[2], 0, 0));
                    }
                    Duration keyTtl = config.api().idempotencyTtl();
                    return rows(() -> idempotencyKeys.pruneExpired(keyTtl, BATCH), 0, 0)
                            .flatMap(keys -> rows(() -> webhookDeliveries.prune(WEBHOOK_RETENTION, BATCH), 0, 0)
                                    .map(hooks -> new Result(true, archive, counts[0], counts[1], counts[2], keys, hooks)));
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
        return jobs.pruneFinishedBatch(status, age, BATCH, archive)
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
