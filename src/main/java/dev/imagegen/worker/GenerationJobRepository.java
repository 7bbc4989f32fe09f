package dev.imagegen.worker;

import java.util.List;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * The SQL of a generate-image job's own steps. Each statement is guarded by the job's lease ($1 job id,
 * $2 owner, job still processing), so a worker that lost its job (rescue, cancel) changes nothing.
 */
@ApplicationScoped
public class GenerationJobRepository {

    /** Saves the prediction id before any waiting, so a resumed job goes on with the same prediction. */
    static final String RECORD_PREDICTION = """
            UPDATE image_generations g
               SET replicate_prediction_id = $3, updated_at = now()
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

    /**
     * Success in one statement: the job and the generation complete and the images are recorded, or (the
     * lease is gone) nothing happens at all.
     */
    static final String COMPLETE_WITH_IMAGES = """
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
            ), i AS (
                INSERT INTO images (generation_id, output_index, storage_key, content_type, size_bytes, width, height, sha256)
                SELECT g.id, u.idx, u.key, u.ct, u.size, u.w, u.h, u.sha
                  FROM g, unnest($4::int[], $5::text[], $6::text[], $7::bigint[], $8::int[], $9::int[], $10::text[])
                       AS u(idx, key, ct, size, w, h, sha)
                ON CONFLICT (generation_id, output_index) DO UPDATE
                   SET storage_key = excluded.storage_key, content_type = excluded.content_type,
                       size_bytes = excluded.size_bytes, width = excluded.width, height = excluded.height,
                       sha256 = excluded.sha256, created_at = now()
                RETURNING id
            )
            SELECT (SELECT count(*) FROM j) AS jobs, (SELECT count(*) FROM g) AS generations, (SELECT count(*) FROM i) AS images
            """;

    @Inject
    Pool pool;

    public Uni<Boolean> recordPrediction(UUID jobId, String owner, String predictionId) {
        return pool.preparedQuery(RECORD_PREDICTION).execute(Tuple.of(jobId, owner, predictionId))
                .map(rows -> rows.rowCount() > 0);
    }

    public Uni<Boolean> markDownloading(UUID jobId, String owner) {
        return pool.preparedQuery(MARK_DOWNLOADING).execute(Tuple.of(jobId, owner)).map(rows -> rows.rowCount() > 0);
    }

    /** Completes the job with its images; false when the lease was lost (nothing written). */
    public Uni<Boolean> complete(UUID jobId, String owner, JsonObject result, List<StoredImage> images) {
        int n = images.size();
        Integer[] idx = new Integer[n];
        String[] keys = new String[n];
        String[] types = new String[n];
        Long[] sizes = new Long[n];
        Integer[] widths = new Integer[n];
        Integer[] heights = new Integer[n];
        String[] shas = new String[n];
        for (int i = 0; i < n; i++) {
            StoredImage s = images.get(i);
            idx[i] = i;
            keys[i] = s.key();
            types[i] = s.contentType();
            sizes[i] = s.sizeBytes();
            widths[i] = s.width();
            heights[i] = s.height();
            shas[i] = s.sha256();
        }
        Tuple t = Tuple.tuple().addValue(jobId).addValue(owner).addValue(result).addValue(idx).addValue(keys)
                .addValue(types).addValue(sizes).addValue(widths).addValue(heights).addValue(shas);
        return pool.preparedQuery(COMPLETE_WITH_IMAGES).execute(t).map(rows -> {
            Row r = rows.iterator().next();
            return r.getLong("jobs") > 0;
        });
    }
}
