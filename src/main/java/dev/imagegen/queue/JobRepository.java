package dev.imagegen.queue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.SqlClient;
import io.vertx.mutiny.sqlclient.Tuple;

import dev.imagegen.api.Cursor;

/**
 * The only place with job SQL. Every transition of a running job is guarded by status and by the lease
 * of the claim that started the run ({@link Job#leaseOwner()}, {@code replica:random}, new at every
 * claim) and reports whether it happened, so a late worker can never overwrite a rescue, a cancel, or a
 * later run of the same job, even on the same replica. A job
 * transition moves its generation's status in the same statement (pending ↔ queued, processing,
 * completed, failed, canceled); the status trigger then announces the change once per statement.
 */
@ApplicationScoped
public class JobRepository {

    static final String COLUMNS = """
            id, job_type, payload, status, priority, attempt_number, max_attempts, run_at, lease_owner,
            lease_expires_at, generation_id, error_message, created_at, updated_at, started_at, completed_at""";

    /** The channel other replicas LISTEN on to learn that jobs were enqueued. */
    public static final String JOBS_CHANNEL = "imagegen_jobs";

    static final String NOTIFY_JOBS = "SELECT pg_notify('" + JOBS_CHANNEL + "', $1)";

    /**
     * Claims up to $1 due jobs for replica $2 for $3 seconds: highest priority first; among equal
     * priority, lowest {@code fair_rank} first (a user's first unfinished job before another user's
     * thousandth), then oldest; skipping rows other claimers hold. One scan of the partial index
     * {@code job_queue_claim_idx (priority DESC, fair_rank, run_at, id)}, and answered in that order (an
     * UPDATE's RETURNING has none of its own). Their generations become {@code processing} in the same
     * statement. Each claimed row gets a lease of its own, {@code replica:random}: every guarded statement
     * below names that lease, so a run whose job was rescued and claimed again (even by the same replica)
     * can never touch the new run's job.
     */
    static final String CLAIM = """
            WITH next AS (
                SELECT id FROM job_queue
                 WHERE status = 'pending' AND run_at <= now()
                 ORDER BY priority DESC, fair_rank, run_at, id
                 LIMIT $1
                 FOR UPDATE SKIP LOCKED
            ), claimed AS (
                UPDATE job_queue j
                   SET status = 'processing', attempt_number = j.attempt_number + 1,
                       lease_owner = $2 || ':' || gen_random_uuid(),
                       lease_expires_at = now() + make_interval(secs => $3), started_at = now(), updated_at = now()
                  FROM next
                 WHERE j.id = next.id
                RETURNING j.*
            ), g AS (
                UPDATE image_generations g
                   SET status = 'processing', started_at = coalesce(g.started_at, now()), updated_at = now()
                  FROM claimed
                 WHERE g.id = claimed.generation_id AND g.status IN ('pending', 'queued', 'processing', 'downloading')
                RETURNING g.id
            )
            SELECT claimed.*, (SELECT count(*) FROM g) AS generations_moved FROM claimed
             ORDER BY claimed.priority DESC, claimed.fair_rank, claimed.run_at, claimed.id
            """;

    /**
     * Extends the leases of running jobs, each by its own lease ($1 job ids, $2 their leases, in the same
     * order); answers the ids still held.
     */
    static final String HEARTBEAT = """
            UPDATE job_queue j
               SET lease_expires_at = now() + make_interval(secs => $3), updated_at = now()
              FROM unnest($1::uuid[], $2::text[]) AS held(id, lease_owner)
             WHERE j.id = held.id AND j.status = 'processing' AND j.lease_owner = held.lease_owner
            RETURNING j.id
            """;

    /** Success: the job and its generation complete, and the generation loses any old error. */
    static final String COMPLETE = """
            WITH j AS (
                UPDATE job_queue
                   SET status = 'completed', result = $3, error_message = NULL, completed_at = now(),
                       updated_at = now(), lease_owner = NULL, lease_expires_at = NULL
                 WHERE id = $1 AND status = 'processing' AND lease_owner = $2
                RETURNING generation_id
            ), g AS (
                UPDATE image_generations g
                   SET status = 'completed', error_message = NULL, completed_at = now(), updated_at = now()
                  FROM j
                 WHERE g.id = j.generation_id AND g.status NOT IN ('completed', 'failed', 'canceled')
                RETURNING g.id
            )
            SELECT (SELECT count(*) FROM j) AS jobs, (SELECT count(*) FROM g) AS generations
            """;

    /**
     * Transient failure: back to pending at now() + $4 seconds, the generation back to queued. $5 true
     * forgets the prediction (it cannot deliver); false keeps it for the next attempt to resume.
     */
    static final String RETRY_LATER = """
            WITH j AS (
                UPDATE job_queue
                   SET status = 'pending', run_at = now() + make_interval(secs => $4), error_message = $3,
                       updated_at = now(), lease_owner = NULL, lease_expires_at = NULL
                 WHERE id = $1 AND status = 'processing' AND lease_owner = $2
                RETURNING generation_id
            ), g AS (
                UPDATE image_generations g
                   SET status = 'queued', updated_at = now(),
                       replicate_prediction_id = CASE WHEN $5 THEN NULL ELSE g.replicate_prediction_id END
                  FROM j
                 WHERE g.id = j.generation_id AND g.status NOT IN ('completed', 'failed', 'canceled')
                RETURNING g.id
            )
            SELECT (SELECT count(*) FROM j) AS jobs, (SELECT count(*) FROM g) AS generations
            """;

    /**
     * Releases a running job without spending its attempt (graceful shutdown, or the 429 gate): back to
     * pending at now() + $3 seconds, attempt count restored, prediction kept.
     */
    static final String RELEASE = """
            WITH j AS (
                UPDATE job_queue
                   SET status = 'pending', run_at = now() + make_interval(secs => $3),
                       attempt_number = greatest(attempt_number - 1, 0),
                       updated_at = now(), lease_owner = NULL, lease_expires_at = NULL
                 WHERE id = $1 AND status = 'processing' AND lease_owner = $2
                RETURNING generation_id
            ), g AS (
                UPDATE image_generations g
                   SET status = 'queued', updated_at = now()
                  FROM j
                 WHERE g.id = j.generation_id AND g.status NOT IN ('completed', 'failed', 'canceled')
                RETURNING g.id
            )
            SELECT (SELECT count(*) FROM j) AS jobs, (SELECT count(*) FROM g) AS generations
            """;

    /** Permanent failure (or attempts exhausted): the job and its generation fail with message $3. */
    static final String FAIL = """
            WITH j AS (
                UPDATE job_queue
                   SET status = 'failed', error_message = $3, completed_at = now(), updated_at = now(),
                       lease_owner = NULL, lease_expires_at = NULL
                 WHERE id = $1 AND status = 'processing' AND lease_owner = $2
                RETURNING generation_id
            ), g AS (
                UPDATE image_generations g
                   SET status = 'failed', error_message = $3, completed_at = now(), updated_at = now()
                  FROM j
                 WHERE g.id = j.generation_id AND g.status NOT IN ('completed', 'failed', 'canceled')
                RETURNING g.id
            )
            SELECT (SELECT count(*) FROM j) AS jobs, (SELECT count(*) FROM g) AS generations
            """;

    /**
     * Cancels the generation $1 and its job if neither has finished. Answers the generation's status
     * before the cancel and its prediction id, so the caller can cancel the prediction at Replicate.
     */
    static final String CANCEL_GENERATION = """
            WITH before AS (
                SELECT id, status, replicate_prediction_id FROM image_generations WHERE id = $1 FOR UPDATE
            ), g AS (
                UPDATE image_generations g
                   SET status = 'canceled', completed_at = now(), updated_at = now()
                  FROM before
                 WHERE g.id = before.id AND before.status NOT IN ('completed', 'failed', 'canceled')
                RETURNING g.id
            ), j AS (
                UPDATE job_queue
                   SET status = 'canceled', completed_at = now(), updated_at = now(),
                       error_message = 'canceled by the user', lease_owner = NULL, lease_expires_at = NULL
                  FROM g
                 WHERE job_queue.generation_id = g.id AND job_queue.status IN ('pending', 'processing')
                RETURNING job_queue.id
            )
            SELECT before.status AS previous_status, before.replicate_prediction_id,
                   (SELECT count(*) FROM g) AS canceled
              FROM before
            """;

    /** An operator's retry: a failed or canceled job back to pending with attempts reset; its generation to queued. */
    static final String RETRY_NOW = """
            WITH j AS (
                UPDATE job_queue
                   SET status = 'pending', attempt_number = 0, run_at = now(), error_message = NULL, result = NULL,
                       completed_at = NULL, updated_at = now()
                 WHERE id = $1 AND status IN ('failed', 'canceled')
                RETURNING *
            ), g AS (
                UPDATE image_generations g
                   SET status = 'queued', error_message = NULL, completed_at = NULL, replicate_prediction_id = NULL,
                       updated_at = now()
                  FROM j
                 WHERE g.id = j.generation_id
                RETURNING g.id
            )
            SELECT j.*, (SELECT count(*) FROM g) AS generations_moved FROM j
            """;

    /**
     * Returns up to $1 jobs whose lease expired to pending, keeping their attempt count; a job that has
     * used all its attempts fails instead. Their generations follow (queued or failed).
     */
    static final String RESCUE_EXPIRED = """
            WITH expired AS (
                SELECT id, lease_owner FROM job_queue
                 WHERE status = 'processing' AND lease_expires_at < now()
                 ORDER BY lease_expires_at
                 LIMIT $1
                 FOR UPDATE SKIP LOCKED
            ), j AS (
                UPDATE job_queue q
                   SET status = CASE WHEN q.attempt_number >= q.max_attempts THEN 'failed' ELSE 'pending' END,
                       error_message = CASE WHEN q.attempt_number >= q.max_attempts
                           THEN 'The worker running this job stopped and no attempts remain.'
                           ELSE 'The worker running this job stopped; the job was returned to the queue.' END,
                       completed_at = CASE WHEN q.attempt_number >= q.max_attempts THEN now() END,
                       run_at = now(), lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
                  FROM expired
                 WHERE q.id = expired.id
                RETURNING q.id, q.generation_id, q.status, q.error_message, expired.lease_owner AS expired_lease
            ), g AS (
                UPDATE image_generations g
                   SET status = CASE WHEN j.status = 'failed' THEN 'failed' ELSE 'queued' END,
                       error_message = CASE WHEN j.status = 'failed' THEN j.error_message ELSE g.error_message END,
                       completed_at = CASE WHEN j.status = 'failed' THEN now() END,
                       updated_at = now()
                  FROM j
                 WHERE g.id = j.generation_id AND g.status NOT IN ('completed', 'failed', 'canceled')
                RETURNING g.id
            )
            SELECT j.id, j.status, j.expired_lease FROM j
            """;

    static final String FIND_BY_ID = "SELECT " + COLUMNS + " FROM job_queue WHERE id = $1";

    /** Newest first, keyset paging; status and job type filters optional. */
    static final String LIST = "SELECT " + COLUMNS + """
             FROM job_queue
            WHERE ($1::text IS NULL OR status = $1)
              AND ($2::text IS NULL OR job_type = $2)
              AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
            ORDER BY created_at DESC, id DESC
            LIMIT $5
            """;

    /** Deletes up to $3 jobs of status $1 finished more than $2 seconds ago, oldest first. */
    static final String PRUNE_FINISHED = """
            DELETE FROM job_queue
             WHERE id IN (SELECT id FROM job_queue
                           WHERE status = $1 AND completed_at < now() - make_interval(secs => $2)
                           ORDER BY completed_at
                           LIMIT $3
                           FOR UPDATE SKIP LOCKED)
            """;

    /** Key of the retention lock: one replica at a time prunes finished jobs. */
    static final long RETENTION_LOCK_KEY = 7_372_650_183_041L;

    /**
     * Takes the retention lock for the current transaction, without waiting: false when another replica
     * holds it. Transaction-scoped, so it is released at commit or rollback and a pooled connection never
     * keeps it.
     */
    static final String TRY_RETENTION_LOCK = "SELECT pg_try_advisory_xact_lock($1) AS locked";

    /** Every column of a job row, as {@code job_queue_archive} repeats them. */
    static final String ARCHIVE_COLUMNS = COLUMNS + ", result";

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

    /** Counts for metrics and health, from the partial indexes: one cheap query, cached by its callers. */
    static final String COUNTS = """
            SELECT count(*) FILTER (WHERE status = 'pending')                       AS pending,
                   count(*) FILTER (WHERE status = 'pending' AND run_at <= now())  AS due,
                   count(*) FILTER (WHERE status = 'processing')                    AS processing,
                   count(*) FILTER (WHERE status = 'processing' AND lease_expires_at < now()) AS stuck,
                   extract(epoch FROM now() - min(run_at) FILTER (WHERE status = 'pending' AND run_at <= now())) AS oldest_due_seconds
              FROM job_queue
             WHERE status IN ('pending', 'processing')
            """;

    static final String HEALTH = """
            SELECT pending_jobs, processing_jobs, completed_last_hour, failed_last_hour, avg_processing_time_seconds,
                   stuck_jobs, error_rate_last_hour
              FROM queue_health
            """;

    /** The outcome of a guarded transition. */
    public record Transition(long jobs, long generations) {
        /** Whether this run still held the job: false means a rescue, a cancel or a later claim got there first. */
        public boolean applied() {
            return jobs > 0;
        }
    }

    /** The answer to a cancel. */
    public record Cancellation(String previousStatus, String predictionId, boolean canceled) {
    }

    /** One retention batch: whether this replica held the retention lock, and how many jobs it pruned. */
    public record RetentionBatch(boolean locked, int rows) {
    }

    /** Queue depth by state, for metrics and readiness. */
    public record Counts(long pending, long due, long processing, long stuck, double oldestDueSeconds) {
    }

    @Inject
    Pool pool;

    /** Claims up to {@code limit} due jobs for {@code replica}; each job carries its own lease in {@link Job#leaseOwner()}. */
    public Uni<List<Job>> claim(String replica, int limit, Duration lease) {
        return pool.preparedQuery(CLAIM).execute(Tuple.of(limit, replica, seconds(lease))).map(JobRepository::mapAll);
    }

    /** Extends the leases of running jobs (job id → its lease); answers the ids whose lease was still held. */
    public Uni<List<UUID>> heartbeat(Map<UUID, String> leases, Duration lease) {
        UUID[] ids = new UUID[leases.size()];
        String[] owners = new String[leases.size()];
        int i = 0;
        for (Map.Entry<UUID, String> e : leases.entrySet()) {
            ids[i] = e.getKey();
            owners[i++] = e.getValue();
        }
        return pool.preparedQuery(HEARTBEAT)
                .execute(Tuple.of(ids, owners, seconds(lease)))
                .map(rows -> {
                    List<UUID> held = new ArrayList<>(rows.size());
                    rows.forEach(r -> held.add(r.getUUID("id")));
                    return held;
                });
    }

    /** Completes the job; run it on the connection of the transaction that records the images. */
    public Uni<Transition> complete(SqlClient client, UUID id, String lease, JsonObject result) {
        return client.preparedQuery(COMPLETE).execute(Tuple.of(id, lease, result)).map(JobRepository::transition);
    }

    public Uni<Transition> retryLater(UUID id, String lease, String error, Duration delay, boolean forgetPrediction) {
        return pool.preparedQuery(RETRY_LATER)
                .execute(Tuple.of(id, lease, error, seconds(delay), forgetPrediction))
                .map(JobRepository::transition);
    }

    public Uni<Transition> release(UUID id, String lease, Duration delay) {
        return pool.preparedQuery(RELEASE).execute(Tuple.of(id, lease, seconds(delay))).map(JobRepository::transition);
    }

    public Uni<Transition> fail(UUID id, String lease, String error) {
        return pool.preparedQuery(FAIL).execute(Tuple.of(id, lease, error)).map(JobRepository::transition);
    }

    /** Cancels a generation and its job; null when the generation does not exist. */
    public Uni<Cancellation> cancelGeneration(UUID generationId) {
        return pool.preparedQuery(CANCEL_GENERATION).execute(Tuple.of(generationId)).map(rows -> {
            if (!rows.iterator().hasNext()) {
                return null;
            }
            Row r = rows.iterator().next();
            return new Cancellation(r.getString("previous_status"), r.getString("replicate_prediction_id"),
                    r.getLong("canceled") > 0);
        });
    }

    /** An operator's retry; null when the job is not failed or canceled (or does not exist). */
    public Uni<Job> retryNow(UUID id) {
        return pool.preparedQuery(RETRY_NOW).execute(Tuple.of(id))
                .map(rows -> rows.iterator().hasNext() ? map(rows.iterator().next()) : null);
    }

    /** One job whose lease expired: back in the queue, or {@code failed} when no attempts remain. */
    public record Rescued(UUID id, String expiredLease, boolean failed) {
    }

    /** Returns expired leases to the queue (or fails them); answers how many were rescued and failed. */
    public Uni<List<Rescued>> rescueExpired(int limit) {
        return pool.preparedQuery(RESCUE_EXPIRED).execute(Tuple.of(limit)).map(rows -> {
            List<Rescued> out = new ArrayList<>(rows.size());
            rows.forEach(r -> out.add(new Rescued(r.getUUID("id"), r.getString("expired_lease"),
                    "failed".equals(r.getString("status")))));
            return out;
        });
    }

    public Uni<Job> findById(UUID id) {
        return pool.preparedQuery(FIND_BY_ID).execute(Tuple.of(id))
                .map(rows -> rows.iterator().hasNext() ? map(rows.iterator().next()) : null);
    }

    public Uni<List<Job>> list(JobStatus status, String jobType, Cursor cursor, int limit) {
        return pool.preparedQuery(LIST)
                .execute(Tuple.from(Arrays.asList(status == null ? null : status.db(), jobType,
                        cursor == null ? null : cursor.createdAt(), cursor == null ? null : cursor.id(), limit)))
                .map(JobRepository::mapAll);
    }

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
                            .execute(Tuple.of(status.db(), seconds(age), batch))
                            .map(rows -> new RetentionBatch(true, rows.rowCount()));
                }));
    }

    public Uni<Counts> counts() {
        return pool.preparedQuery(COUNTS).execute().map(rows -> {
            Row r = rows.iterator().next();
            Double oldest = r.getDouble("oldest_due_seconds");
            return new Counts(r.getLong("pending"), r.getLong("due"), r.getLong("processing"), r.getLong("stuck"),
                    oldest == null ? 0 : oldest);
        });
    }

    /** The queue_health view's row (without alerts). */
    public Uni<QueueHealth> health() {
        return pool.query(HEALTH).execute().map(rows -> {
            Row r = rows.iterator().next();
            Object avg = r.getValue("avg_processing_time_seconds");
            Object rate = r.getValue("error_rate_last_hour");
            return new QueueHealth(r.getLong("pending_jobs"), r.getLong("processing_jobs"), r.getLong("completed_last_hour"),
                    r.getLong("failed_last_hour"), avg == null ? null : ((Number) avg).doubleValue(), r.getLong("stuck_jobs"),
                    rate == null ? 0 : ((Number) rate).doubleValue(), List.of());
        });
    }

    /** Wakes the other replicas' workers. */
    public Uni<Void> notifyJobs(String sender) {
        return pool.preparedQuery(NOTIFY_JOBS).execute(Tuple.of(sender)).replaceWithVoid();
    }

    static double seconds(Duration d) {
        return d.toNanos() / 1_000_000_000.0;
    }

    private static Transition transition(RowSet<Row> rows) {
        Row r = rows.iterator().next();
        return new Transition(r.getLong("jobs"), r.getLong("generations"));
    }

    static List<Job> mapAll(RowSet<Row> rows) {
        List<Job> out = new ArrayList<>(rows.size());
        for (Row r : rows) {
            out.add(map(r));
        }
        return out;
    }

    public static Job map(Row r) {
        return new Job(
                r.getUUID("id"),
                r.getString("job_type"),
                r.getJsonObject("payload"),
                JobStatus.fromDb(r.getString("status")),
                r.getInteger("priority"),
                r.getInteger("attempt_number"),
                r.getInteger("max_attempts"),
                r.getOffsetDateTime("run_at"),
                r.getString("lease_owner"),
                r.getOffsetDateTime("lease_expires_at"),
                r.getUUID("generation_id"),
                r.getString("error_message"),
                r.getOffsetDateTime("created_at"),
                r.getOffsetDateTime("updated_at"),
                r.getOffsetDateTime("started_at"),
                r.getOffsetDateTime("completed_at"));
    }
}
