package dev.imagegen.generation;

import java.math.BigDecimal;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
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

/** All SQL on {@code image_generations}. */
@ApplicationScoped
public class GenerationRepository {

    private static final String COLUMNS = """
            id, user_id, prompt, model_id, parameters, status, replicate_prediction_id, error_message,
            created_at, updated_at, started_at, completed_at""";

    /**
     * The generation and its job in one statement: atomic (never one without the other) and one
     * round trip. It writes job_queue too, which is why it lives here and not in JobRepository.
     */
    static final String INSERT_WITH_JOB = """
            WITH g AS (
                INSERT INTO image_generations (user_id, prompt, model_id, parameters, status)
                VALUES ($1, $2, $3, $4, 'queued')
                RETURNING id
            ), j AS (
                INSERT INTO job_queue (job_type, payload, priority, max_attempts, generation_id)
                SELECT 'generate_image', jsonb_build_object('generation_id', g.id), $5, $6, g.id FROM g
                RETURNING id, generation_id
            )
            SELECT generation_id, id AS job_id FROM j
            """;

    /** As {@link #INSERT_WITH_JOB}, and records the Idempotency-Key; a taken key aborts the whole statement. */
    static final String INSERT_WITH_JOB_AND_KEY = """
            WITH g AS (
                INSERT INTO image_generations (user_id, prompt, model_id, parameters, status)
                VALUES ($1, $2, $3, $4, 'queued')
                RETURNING id
            ), j AS (
                INSERT INTO job_queue (job_type, payload, priority, max_attempts, generation_id)
                SELECT 'generate_image', jsonb_build_object('generation_id', g.id), $5, $6, g.id FROM g
                RETURNING id, generation_id
            ), k AS (
                INSERT INTO idempotency_keys (user_id, key, request_hash, generation_id, job_id)
                SELECT $1, $7, $8, j.generation_id, j.id FROM j
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

    @Inject
    Pool pool;

    public Uni<Enqueued> insertWithJob(String userId, GenerationRequest request, int maxAttempts) {
        return pool.preparedQuery(INSERT_WITH_JOB)
                .execute(Tuple.from(List.of(userId, request.prompt(), request.modelId(), toJson(request.parameters()),
                        request.priority() == null ? 0 : request.priority(), maxAttempts)))
                .map(GenerationRepository::enqueued);
    }

    public Uni<Enqueued> insertWithJobAndKey(String userId, GenerationRequest request, int maxAttempts,
            String key, String requestHash) {
        return pool.preparedQuery(INSERT_WITH_JOB_AND_KEY)
                .execute(Tuple.from(List.of(userId, request.prompt(), request.modelId(), toJson(request.parameters()),
                        request.priority() == null ? 0 : request.priority(), maxAttempts, key, requestHash)))
                .map(GenerationRepository::enqueued);
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

    private static Enqueued enqueued(RowSet<Row> rows) {
        Row row = rows.iterator().next();
        return new Enqueued(row.getUUID("generation_id"), row.getUUID("job_id"), true);
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

    static OffsetDateTime now() {
        return OffsetDateTime.now();
    }
}
