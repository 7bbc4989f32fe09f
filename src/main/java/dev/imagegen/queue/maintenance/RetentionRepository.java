package dev.imagegen.queue.maintenance;

import java.time.Duration;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;

import dev.imagegen.queue.JobStatus;

/** The retention SQL on {@code job_queue}: finished jobs deleted, or moved into {@code job_queue_archive}, by age. */
@ApplicationScoped
public class RetentionRepository {

    /** Every column of a job row, as {@code job_queue_archive} repeats them. */
    static final String ARCHIVE_COLUMNS = """
            id, job_type, payload, status, priority, attempt_number, max_attempts, run_at, lease_owner,
            lease_expires_at, generation_id, error_message, created_at, updated_at, started_at, completed_at, result""";

    /** Deletes up to $3 jobs of status $1 finished more than $2 seconds ago, oldest first. */
    static final String PRUNE_FINISHED = """
            DELETE FROM job_queue
             WHERE id IN (SELECT id FROM job_queue
                           WHERE status = $1 AND completed_at < now() - make_interval(secs => $2)
                           ORDER BY completed_at
                           LIMIT $3
                           FOR UPDATE SKIP LOCKED)
            """;

    /**
     * Moves up to $3 jobs of status $1 finished more than $2 seconds ago into {@code job_queue_archive},
     * oldest first, in one statement (archived_at is set by the table's default).
     */
    static final String ARCHIVE_FINISHED = """
            WITH moved AS (
                DELETE FROM job_queue
                 WHERE id IN (SELECT id FROM job_queue
                               WHERE status = $1 AND completed_at < now() - make_interval(secs => $2)
                               ORDER BY completed_at
                               LIMIT $3
                               FOR UPDATE SKIP LOCKED)
                RETURNING *
            )
            INSERT INTO job_queue_archive (""" + ARCHIVE_COLUMNS + ")\nSELECT " + ARCHIVE_COLUMNS + "\n  FROM moved\n";

    /** Key of the retention lock: one replica at a time prunes finished jobs. */
    public static final long RETENTION_LOCK_KEY = 7_372_650_183_041L;

    /**
     * Takes the retention lock for the current transaction, without waiting: false when another replica
     * holds it. Transaction-scoped, so it is released at commit or rollback and a pooled connection never
     * keeps it.
     */
    static final String TRY_RETENTION_LOCK = "SELECT pg_try_advisory_xact_lock($1) AS locked";

    /** One retention batch: whether this replica held the retention lock, and how many jobs it pruned. */
    public record RetentionBatch(boolean locked, int rows) {
    }

    @Inject
    Pool pool;

    /**
     * One retention batch in its own short transaction: takes the retention lock (or answers
     * {@code locked = false} at once when another replica holds it), then deletes, or with
     * {@code archive} moves into {@code job_queue_archive}, up to {@code batch} jobs of {@code status}
     * finished more than {@code age} ago. Rows other transactions hold are skipped, never waited for.
     */
    public Uni<RetentionBatch> pruneFinishedBatch(JobStatus status, Duration age, int batch, boolean archive) {
        return pool.withTransaction(tx -> tx.preparedQuery(TRY_RETENTION_LOCK).execute(Tuple.of(RETENTION_LOCK_KEY))
                .flatMap(lock -> {
                    if (!Boolean.TRUE.equals(lock.iterator().next().getBoolean("locked"))) {
                        return Uni.createFrom().item(new RetentionBatch(false, 0));
                    }
                    return tx.preparedQuery(archive ? ARCHIVE_FINISHED : PRUNE_FINISHED)
                            .execute(Tuple.of(status.db(), age.toNanos() / 1_000_000_000.0, batch))
                            .map(rows -> new RetentionBatch(true, rows.rowCount()));
                }));
    }
}
