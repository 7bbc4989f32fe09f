package dev.imagegen.queue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.Tuple;
import io.vertx.pgclient.PgException;

/**
 * The claim and every status transition of {@code job_queue}; it writes no other table. Every transition of
 * a running job is guarded by status and by the lease of the claim that started the run
 * ({@link Job#leaseOwner()}, {@code replica:random}, new at every claim) and reports whether it happened, so a
 * late worker can never overwrite a rescue, a cancel, or a later run of the same job, even on the same
 * replica. The job's generation follows by itself: the V4 trigger {@code job_queue_status_mirror} mirrors
 * every job status change into {@code image_generations} once per statement (pending ↔ queued, processing,
 * completed, failed, canceled), and the status trigger then announces the change once per statement.
 * Reads for operators and gauges are in {@link JobReadRepository}; retention SQL in
 * {@code maintenance.RetentionRepository}.
 */
@ApplicationScoped
public class JobRepository {

    static final String COLUMNS = """
            id, job_type, payload, status, priority, attempt_number, max_attempts, run_at, lease_owner,
            lease_expires_at, generation_id, error_message, created_at, updated_at, started_at, completed_at""";

    /** The channel other replicas LISTEN on to learn that jobs were enqueued. */
    public static final String JOBS_CHANNEL = "imagegen_jobs";

    /** Times a batch of completions chosen as a deadlock or serialization victim is sent again. */
    static final int CONFLICT_RETRIES = 3;

    static final String NOTIFY_JOBS = "SELECT pg_notify('" + JOBS_CHANNEL + "', $1)";

    /**
     * Claims up to $1 due jobs for replica $2 for $3 seconds: highest priority first; among equal
     * priority, lowest {@code fair_rank} first (a user's first unfinished job before another user's
     * thousandth), then oldest; skipping rows other claimers hold. One scan of the partial index
     * {@code job_queue_claim_idx (priority DESC, fair_rank, run_at, id)}, and answered in that order (an
     * UPDATE's RETURNING has none of its own). Each claimed row gets a lease of its own,
     * {@code replica:random}: every guarded statement below names that lease, so a run whose job was rescued
     * and claimed again (even by the same replica) can never touch the new run's job.
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
            )
            SELECT * FROM claimed ORDER BY priority DESC, fair_rank, run_at, id
            """;

    /**
     * Extends the leases of running jobs, each by its own lease ($1 job ids, $2 their leases, in the same
     * order); answers the ids still held. The rows are locked in id order first ({@code ORDER BY id FOR UPDATE}),
     * as in {@link #COMPLETE_MANY}: two batch statements that lock overlapping rows in plan order deadlock
     * (found by ReplicasIT: a heartbeat and a batched completion, 40P01, the completion's job retried).
     */
    static final String HEARTBEAT = """
            WITH locked AS (
                SELECT j.id
                  FROM job_queue j
                  JOIN unnest($1::uuid[], $2::text[]) AS held(id, lease_owner)
                    ON j.id = held.id AND j.lease_owner = held.lease_owner
                 WHERE j.status = 'processing'
                 ORDER BY j.id
                   FOR UPDATE OF j)
            UPDATE job_queue j
               SET lease_expires_at = now() + make_interval(secs => $3), updated_at = now()
              FROM locked
             WHERE j.id = locked.id
            RETURNING j.id
            """;

    /**
     * Success for a batch of jobs in one statement ({@link JobCompleter}): $1 job ids, $2 their leases,
     * $3 their results (JSON text), in the same order. Each job is guarded by its own lease; answers the ids
     * that completed, so every caller learns its own outcome.
     */
    static final String COMPLETE_MANY = """
            WITH locked AS (
                SELECT j.id, done.result
                  FROM job_queue j
                  JOIN unnest($1::uuid[], $2::text[], $3::text[]) AS done(id, lease_owner, result)
                    ON j.id = done.id AND j.lease_owner = done.lease_owner
                 WHERE j.status = 'processing'
                 ORDER BY j.id
                   FOR UPDATE OF j)
            UPDATE job_queue j
               SET status = 'completed', result = locked.result::jsonb, error_message = NULL, completed_at = now(),
                   updated_at = now(), lease_owner = NULL, lease_expires_at = NULL
              FROM locked
             WHERE j.id = locked.id
            RETURNING j.id
            """;

    /** Transient failure: back to pending at now() + $4 seconds, with error $3 (the generation to queued). */
    static final String RETRY_LATER = """
            UPDATE job_queue
               SET status = 'pending', run_at = now() + make_interval(secs => $4), error_message = $3,
                   updated_at = now(), lease_owner = NULL, lease_expires_at = NULL
             WHERE id = $1 AND status = 'processing' AND lease_owner = $2
            """;

    /**
     * Releases a running job without spending its attempt (graceful shutdown, or the 429 gate): back to
     * pending at now() + $3 seconds, attempt count restored.
     */
    static final String RELEASE = """
            UPDATE job_queue
               SET status = 'pending', run_at = now() + make_interval(secs => $3),
                   attempt_number = greatest(attempt_number - 1, 0),
                   updated_at = now(), lease_owner = NULL, lease_expires_at = NULL
             WHERE id = $1 AND status = 'processing' AND lease_owner = $2
            """;

    /** Permanent failure (or attempts exhausted): the job (and its generation) fail with message $3. */
    static final String FAIL = """
            UPDATE job_queue
               SET status = 'failed', error_message = $3, completed_at = now(), updated_at = now(),
                   lease_owner = NULL, lease_expires_at = NULL
             WHERE id = $1 AND status = 'processing' AND lease_owner = $2
            """;

    /**
     * Cancels the job of generation $1 if the generation has not finished. Answers the generation's status
     * before the cancel and its prediction id, so the caller can cancel the prediction at Replicate. The
     * generation row is only read, locked (FOR UPDATE) so that a prediction id being recorded right now is
     * seen; the V4 trigger moves the generation to canceled.
     */
    static final String CANCEL_GENERATION = """
            WITH before AS (
                SELECT id, status, replicate_prediction_id FROM image_generations WHERE id = $1 FOR UPDATE
            ), j AS (
                UPDATE job_queue
                   SET status = 'canceled', completed_at = now(), updated_at = now(),
                       error_message = 'canceled by the user', lease_owner = NULL, lease_expires_at = NULL
                  FROM before
                 WHERE job_queue.generation_id = before.id AND job_queue.status IN ('pending', 'processing')
                   AND before.status NOT IN ('completed', 'failed', 'canceled')
                RETURNING job_queue.id
            )
            SELECT before.status AS previous_status, before.replicate_prediction_id,
                   (SELECT count(*) FROM j) AS canceled
              FROM before
            """;

    /** An operator's retry: a failed or canceled job back to pending with attempts reset (its generation reopens). */
    static final String RETRY_NOW = """
            UPDATE job_queue
               SET status = 'pending', attempt_number = 0, run_at = now(), error_message = NULL, result = NULL,
                   completed_at = NULL, updated_at = now()
             WHERE id = $1 AND status IN ('failed', 'canceled')
            RETURNING *
            """;

    /**
     * Returns up to $1 jobs whose lease expired to pending, keeping their attempt count; a job that has
     * used all its attempts fails instead (their generations follow: queued or failed).
     */
    static final String RESCUE_EXPIRED = """
            WITH expired AS (
                SELECT id, lease_owner FROM job_queue
                 WHERE status = 'processing' AND lease_expires_at < now()
                 ORDER BY lease_expires_at
                 LIMIT $1
                 FOR UPDATE SKIP LOCKED
            )
            UPDATE job_queue q
               SET status = CASE WHEN q.attempt_number >= q.max_attempts THEN 'failed' ELSE 'pending' END,
                   error_message = CASE WHEN q.attempt_number >= q.max_attempts
                       THEN 'The worker running this job stopped and no attempts remain.'
                       ELSE 'The worker running this job stopped; the job was returned to the queue.' END,
                   completed_at = CASE WHEN q.attempt_number >= q.max_attempts THEN now() END,
                   run_at = now(), lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
              FROM expired
             WHERE q.id = expired.id
            RETURNING q.id, q.status, expired.lease_owner AS expired_lease
            """;

    /**
     * The outcome of a guarded transition: {@code applied} false when a rescue, a cancel or a later claim got
     * there first, and nothing changed.
     */
    public record Transition(boolean applied) {
    }

    /** The answer to a cancel. */
    public record Cancellation(String previousStatus, String predictionId, boolean canceled) {
    }

    /** One job whose lease expired: back in the queue, or {@code failed} when no attempts remain. */
    public record Rescued(UUID id, String expiredLease, boolean failed) {
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
        return pool.preparedQuery(HEARTBEAT).execute(Tuple.of(ids, owners, seconds(lease))).map(JobRepository::ids);
    }

    /**
     * Completes a batch of jobs in one statement, each under its own lease ({@code ids[i]} with {@code leases[i]}
     * and {@code results[i]}, JSON text); answers the ids that completed. The product calls it through
     * {@link JobCompleter}, which gathers the completions that arrive together; benchmarks call it directly.
     * A statement PostgreSQL aborts as a deadlock or serialization victim is sent again, up to
     * {@link #CONFLICT_RETRIES} times.
     */
    public Uni<Set<UUID>> completeMany(UUID[] ids, String[] leases, String[] results) {
        // A deadlock or serialization victim (40P01, 40001) changed nothing: send the same statement again
        // rather than fail every job of the batch and spend their attempts on work that is done.
        return pool.preparedQuery(COMPLETE_MANY).execute(Tuple.of(ids, leases, results))
                .onFailure(JobRepository::isConflictVictim).retry().withBackOff(Duration.ofMillis(5)).atMost(CONFLICT_RETRIES)
                .map(rows -> new HashSet<>(ids(rows)));
    }

    private static boolean isConflictVictim(Throwable t) {
        return t instanceof PgException pg && ("40P01".equals(pg.getSqlState()) || "40001".equals(pg.getSqlState()));
    }

    /** Transient failure: back to the queue after {@code delay}. */
    public Uni<Transition> retryLater(UUID id, String lease, String error, Duration delay) {
        return pool.preparedQuery(RETRY_LATER).execute(Tuple.of(id, lease, error, seconds(delay))).map(JobRepository::transition);
    }

    public Uni<Transition> release(UUID id, String lease, Duration delay) {
        return pool.preparedQuery(RELEASE).execute(Tuple.of(id, lease, seconds(delay))).map(JobRepository::transition);
    }

    public Uni<Transition> fail(UUID id, String lease, String error) {
        return pool.preparedQuery(FAIL).execute(Tuple.of(id, lease, error)).map(JobRepository::transition);
    }

    /** Cancels a generation's job (and so the generation); null when the generation does not exist. */
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

    /** Returns expired leases to the queue (or fails them); answers each job rescued. */
    public Uni<List<Rescued>> rescueExpired(int limit) {
        return pool.preparedQuery(RESCUE_EXPIRED).execute(Tuple.of(limit)).map(rows -> {
            List<Rescued> out = new ArrayList<>(rows.size());
            rows.forEach(r -> out.add(new Rescued(r.getUUID("id"), r.getString("expired_lease"),
                    "failed".equals(r.getString("status")))));
            return out;
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
        return new Transition(rows.rowCount() > 0);
    }

    private static List<UUID> ids(RowSet<Row> rows) {
        List<UUID> out = new ArrayList<>(rows.size());
        rows.forEach(r -> out.add(r.getUUID("id")));
        return out;
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
