package dev.imagegen.generation;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
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
 * All SQL on {@code image_generations}: the enqueue (with its job and quota, one atomic statement), reads, and
 * the worker's lease-guarded steps (prediction id, downloading). Status changes that follow the job are not
 * here: the V4 trigger {@code job_queue_status_mirror} writes them.
 */
@ApplicationScoped
public class GenerationRepository {

    private static final String COLUMNS = """
            id, user_id, prompt, model_id, parameters, status, replicate_prediction_id, error_message,
            created_at, updated_at, started_at, completed_at""";

    /**
     * The quota check, the generation and its job, as the CTEs both enqueue statements start with.
     * <ul>
     * <li>{@code quota} locks owner $1's row of {@code user_quota} (created at 0 on first use) and yields it only
     * while the owner has fewer than $7 unfinished generations ($7 NULL: no cap, for operators). Concurrent
     * enqueues of one owner, from any replica, queue on that row lock, and ON CONFLICT re-checks the latest
     * committed count: the cap holds across replicas. At the cap it yields nothing, so nothing is inserted
     * and the statement answers no row. The count itself is kept by triggers on image_generations (V3).</li>
     * <li>{@code g} and {@code j}: the generation and its job, atomic (never one without the other) and one
     * round trip; the job's {@code fair_rank} is the owner's unfinished count before this one, so the claim
     * serves a user's first job before another user's thousandth. It writes job_queue too, which is why it
     * lives here and not in JobRepository.</li>
     * </ul>
     */
    private static final String ENQUEUE_CTES = """
            WITH quota AS (
                INSERT INTO user_quota AS q (user_id, active) VALUES ($1, 0)
                ON CONFLICT (user_id) DO UPDATE SET active = q.active
                 WHERE $7::integer IS NULL OR q.active < $7::integer
                RETURNING q.active
            ), g AS (
                INSERT INTO image_generations (user_id, prompt, model_id, parameters, status)
                SELECT $1, $2, $3, $4, 'queued' FROM quota
                RETURNING id
            ), j AS (
                INSERT INTO job_queue (job_type, payload, priority, max_attempts, generation_id, fair_rank)
                SELECT 'generate_image', jsonb_build_object('generation_id', g.id), $5, $6, g.id, quota.active
                  FROM g, quota
                RETURNING id, generation_id
            )""";

    /** Enqueues (see {@link #ENQUEUE_CTES}); no row when the owner is at the cap. */
    static final String INSERT_WITH_JOB = ENQUEUE_CTES + """

            SELECT generation_id, id AS job_id FROM j
            """;

    /**
     * As {@link #INSERT_WITH_JOB}, and records the Idempotency-Key $8 with request hash $9; a taken key aborts
     * the whole statement.
     */
    static final String INSERT_WITH_JOB_AND_KEY = ENQUEUE_CTES + """
            , k AS (
                INSERT INTO idempotency_keys (user_id, key, request_hash, generation_id, job_id)
                SELECT $1, $8, $9, j.generation_id, j.id FROM j
            )
            SELECT generation_id, id AS job_id FROM j
            """;

    static final String FIND_BY_ID = "SELECT " + COLUMNS + " FROM image_generations WHERE id = $1";

    static final String FIND_BY_IDS = "SELECT " + COLUMNS + " FROM image_generations WHERE id = ANY($1)";

    /** Newest first, keyset paging on (created_at, id); $2 status filter and $3/$4 cursor are optional. */
    static final String LIST_FOR_USER = "SELECT " + COLUMNS + """
             FROM image_generations
            WHERE user_id = $1
              AND ($2::text IS NULL OR status = $2)
              AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
            ORDER BY created_at DESC, id DESC
            LIMIT $5
            """;

    /** Operators see every user's generations. */
    static final String LIST_ALL = "SELECT " + COLUMNS + """
             FROM image_generations
            WHERE ($1::text IS NULL OR status = $1)
              AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
            ORDER BY created_at DESC, id DESC
            LIMIT $4
            """;

    /** Saves the prediction id before any waiting, so a resumed job goes on with the same prediction. */
    static final String RECORD_PREDICTION = """
            UPDATE image_generations g
               SET replicate_prediction_id = $3, updated_at = now()
              FROM job_queue j
             WHERE j.id = $1 AND j.status = 'processing' AND j.lease_owner = $2
               AND g.id = j.generation_id AND g.status NOT IN ('completed', 'failed', 'canceled')
            RETURNING g.id
            """;

    /**
     * Forgets the prediction before a retry when it cannot deliver (its outputs are gone), so the next attempt
     * starts a new one.
     */
    static final String FORGET_PREDICTION = """
            UPDATE image_generations g
               SET replicate_prediction_id = NULL, updated_at = now()
              FROM job_queue j
             WHERE j.id = $1 AND j.status = 'processing' AND j.lease_owner = $2
               AND g.id = j.generation_id AND g.status NOT IN ('completed', 'failed', 'canceled')
            RETURNING g.id
            """;

    static final String MARK_DOWNLOADING = """
            UPDATE image_generations g
               SET status = 'downloading', updated_at = now()
              FROM job_queue j
             WHERE j.id = $1 AND j.status = 'processing' AND j.lease_owner = $2
               AND g.id = j.generation_id AND g.status IN ('processing', 'downloading')
            RETURNING g.id
            """;

    /** Whether a prediction id is already the prediction of another generation (it may never be adopted). */
    static final String RECORDED_ELSEWHERE = """
            SELECT EXISTS (SELECT 1 FROM image_generations WHERE replicate_prediction_id = $1 AND id <> $2) AS taken
            """;

    @Inject
    Pool pool;

    /**
     * Enqueues for {@code userId} unless they already have {@code maxActive} unfinished generations
     * ({@code null}: no cap). Empty when refused: then nothing was written.
     */
    public Uni<Optional<Enqueued>> insertWithJob(String userId, GenerationRequest request, int maxAttempts,
            Integer maxActive) {
        return insertWithJob(pool, userId, request, maxAttempts, maxActive);
    }

    /** As {@link #insertWithJob(String, GenerationRequest, int, Integer)}, on the given client (another replica's pool). */
    public Uni<Optional<Enqueued>> insertWithJob(SqlClient client, String userId, GenerationRequest request,
            int maxAttempts, Integer maxActive) {
        return client.preparedQuery(INSERT_WITH_JOB)
                .execute(enqueueArguments(userId, request, maxAttempts, maxActive))
                .map(GenerationRepository::enqueued);
    }

    /** As {@link #insertWithJob}, recording the Idempotency-Key; empty when refused by the cap. */
    public Uni<Optional<Enqueued>> insertWithJobAndKey(String userId, GenerationRequest request, int maxAttempts,
            Integer maxActive, String key, String requestHash) {
        Tuple args = enqueueArguments(userId, request, maxAttempts, maxActive).addValue(key).addValue(requestHash);
        return pool.preparedQuery(INSERT_WITH_JOB_AND_KEY).execute(args).map(GenerationRepository::enqueued);
    }

    private static Tuple enqueueArguments(String userId, GenerationRequest request, int maxAttempts, Integer maxActive) {
        return Tuple.from(java.util.Arrays.asList(userId, request.prompt(), request.modelId(),
                toJson(request.parameters()), request.priority() == null ? 0 : request.priority(), maxAttempts,
                maxActive));
    }

    public Uni<Generation> findById(UUID id) {
        return findById(pool, id);
    }

    public Uni<Generation> findById(SqlClient client, UUID id) {
        return client.preparedQuery(FIND_BY_ID).execute(Tuple.of(id))
                .map(rows -> rows.iterator().hasNext() ? map(rows.iterator().next()) : null);
    }

    public Uni<List<Generation>> findByIds(List<UUID> ids) {
        return pool.preparedQuery(FIND_BY_IDS).execute(Tuple.of(ids.toArray(UUID[]::new)))
                .map(GenerationRepository::mapAll);
    }

    public Uni<List<Generation>> listForUser(String userId, GenerationStatus status, Cursor cursor, int limit) {
        return pool.preparedQuery(LIST_FOR_USER)
                .execute(Tuple.from(java.util.Arrays.asList(userId, status == null ? null : status.db(),
                        cursor == null ? null : cursor.createdAt(), cursor == null ? null : cursor.id(), limit)))
                .map(GenerationRepository::mapAll);
    }

    public Uni<List<Generation>> listAll(GenerationStatus status, Cursor cursor, int limit) {
        return pool.preparedQuery(LIST_ALL)
                .execute(Tuple.from(java.util.Arrays.asList(status == null ? null : status.db(),
                        cursor == null ? null : cursor.createdAt(), cursor == null ? null : cursor.id(), limit)))
                .map(GenerationRepository::mapAll);
    }

    /** Saves a job's prediction id on its generation, under the job's lease; false when the lease was lost. */
    public Uni<Boolean> recordPrediction(UUID jobId, String lease, String predictionId) {
        return pool.preparedQuery(RECORD_PREDICTION).execute(Tuple.of(jobId, lease, predictionId))
                .map(rows -> rows.rowCount() > 0);
    }

    /** Forgets a job's prediction (it cannot deliver), under the job's lease; false when the lease was lost. */
    public Uni<Boolean> forgetPrediction(UUID jobId, String lease) {
        return pool.preparedQuery(FORGET_PREDICTION).execute(Tuple.of(jobId, lease)).map(rows -> rows.rowCount() > 0);
    }

    /** A job's generation to downloading, under the job's lease; false when the lease was lost. */
    public Uni<Boolean> markDownloading(UUID jobId, String lease) {
        return pool.preparedQuery(MARK_DOWNLOADING).execute(Tuple.of(jobId, lease)).map(rows -> rows.rowCount() > 0);
    }

    /** Whether another generation already records this prediction id. */
    public Uni<Boolean> recordedElsewhere(String predictionId, UUID generationId) {
        return pool.preparedQuery(RECORDED_ELSEWHERE).execute(Tuple.of(predictionId, generationId))
                .map(rows -> rows.iterator().next().getBoolean("taken"));
    }

    private static Optional<Enqueued> enqueued(RowSet<Row> rows) {
        if (!rows.iterator().hasNext()) {
            return Optional.empty();
        }
        Row row = rows.iterator().next();
        return Optional.of(new Enqueued(row.getUUID("generation_id"), row.getUUID("job_id"), true));
    }

    static List<Generation> mapAll(RowSet<Row> rows) {
        List<Generation> out = new ArrayList<>(rows.size());
        for (Row row : rows) {
            out.add(map(row));
        }
        return out;
    }

    public static Generation map(Row row) {
        return new Generation(
                row.getUUID("id"),
                row.getString("user_id"),
                row.getString("prompt"),
                row.getString("model_id"),
                fromJson(row.getJsonObject("parameters")),
                GenerationStatus.fromDb(row.getString("status")),
                row.getString("replicate_prediction_id"),
                row.getString("error_message"),
                row.getOffsetDateTime("created_at"),
                row.getOffsetDateTime("updated_at"),
                row.getOffsetDateTime("started_at"),
                row.getOffsetDateTime("completed_at"));
    }

    static JsonObject toJson(GenerationParameters p) {
        JsonObject o = new JsonObject()
                .put("width", p.width())
                .put("height", p.height())
                .put("num_outputs", p.numOutputs());
        if (p.numInferenceSteps() != null) {
            o.put("num_inference_steps", p.numInferenceSteps());
        }
        if (p.guidanceScale() != null) {
            o.put("guidance_scale", p.guidanceScale().toPlainString());
        }
        if (p.seed() != null) {
            o.put("seed", p.seed());
        }
        if (p.outputFormat() != null) {
            o.put("output_format", p.outputFormat());
        }
        return o;
    }

    static GenerationParameters fromJson(JsonObject o) {
        Object guidance = o.getValue("guidance_scale");
        return new GenerationParameters(
                o.getInteger("width"),
                o.getInteger("height"),
                o.getInteger("num_inference_steps"),
                guidance == null ? null : new BigDecimal(guidance.toString()),
                o.getLong("seed"),
                o.getInteger("num_outputs", 1),
                o.getString("output_format"));
    }
}
