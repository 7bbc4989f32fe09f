package dev.imagegen.worker;

import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;

import dev.imagegen.queue.JobCompleter;

/**
 * The SQL of a generate-image job's own steps on its generation and images (prediction id, downloading,
 * stored outputs). Each statement is guarded by the job's lease ($1 job id, $2 owner, job still processing),
 * so a worker that lost its job (rescue, cancel) changes nothing. Status changes that follow the job
 * (processing, queued, completed, failed, canceled) are not here: the V4 trigger mirrors them from
 * {@code job_queue}, and the completion itself goes through the queue's {@link JobCompleter}.
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

    /**
     * Records one stored output as soon as its file is committed, so that a later attempt downloads only
     * the outputs still missing. Guarded by the lease (the job row is share-locked, so a concurrent cancel
     * or rescue is seen); a second write of the same output replaces the first.
     */
    static final String RECORD_IMAGE = """
            INSERT INTO images (generation_id, output_index, storage_key, content_type, size_bytes, width, height, sha256)
            SELECT j.generation_id, $3::int, $4::text, $5::text, $6::bigint, $7::int, $8::int, $9::text
              FROM job_queue j JOIN image_generations g ON g.id = j.generation_id
             WHERE j.id = $1 AND j.status = 'processing' AND j.lease_owner = $2
               AND g.status NOT IN ('completed', 'failed', 'canceled')
               FOR SHARE OF j
            ON CONFLICT (generation_id, output_index) DO UPDATE
               SET storage_key = excluded.storage_key, content_type = excluded.content_type,
                   size_bytes = excluded.size_bytes, width = excluded.width, height = excluded.height,
                   sha256 = excluded.sha256, created_at = now()
            RETURNING id
            """;

    /** The output indexes of a generation already stored by an earlier attempt. */
    static final String STORED_OUTPUTS = """
            SELECT output_index FROM images WHERE generation_id = $1 ORDER BY output_index
            """;

    /** Whether a prediction id is already the prediction of another generation (it may never be adopted). */
    static final String RECORDED_ELSEWHERE = """
            SELECT EXISTS (SELECT 1 FROM image_generations WHERE replicate_prediction_id = $1 AND id <> $2) AS taken
            """;

    @Inject
    Pool pool;

    @Inject
    JobCompleter completer;

    public Uni<Boolean> recordPrediction(UUID jobId, String owner, String predictionId) {
        return pool.preparedQuery(RECORD_PREDICTION).execute(Tuple.of(jobId, owner, predictionId))
                .map(rows -> rows.rowCount() > 0);
    }

    public Uni<Boolean> markDownloading(UUID jobId, String owner) {
        return pool.preparedQuery(MARK_DOWNLOADING).execute(Tuple.of(jobId, owner)).map(rows -> rows.rowCount() > 0);
    }

    /** Records one stored output; false when the lease was lost (nothing written). */
    public Uni<Boolean> recordImage(UUID jobId, String owner, int outputIndex, StoredImage image) {
        Tuple t = Tuple.tuple().addValue(jobId).addValue(owner).addValue(outputIndex).addValue(image.key())
                .addValue(image.contentType()).addValue(image.sizeBytes()).addValue(image.width()).addValue(image.height())
                .addValue(image.sha256());
        return pool.preparedQuery(RECORD_IMAGE).execute(t).map(rows -> rows.rowCount() > 0);
    }

    /** Output indexes of the generation already stored (by this or an earlier attempt). */
    public Uni<Set<Integer>> storedOutputs(UUID generationId) {
        return pool.preparedQuery(STORED_OUTPUTS).execute(Tuple.of(generationId)).map(rows -> {
            Set<Integer> stored = new TreeSet<>();
            rows.forEach(r -> stored.add(r.getInteger("output_index")));
            return stored;
        });
    }

    /** Whether another generation already records this prediction id. */
    public Uni<Boolean> recordedElsewhere(String predictionId, UUID generationId) {
        return pool.preparedQuery(RECORDED_ELSEWHERE).execute(Tuple.of(predictionId, generationId))
                .map(rows -> rows.iterator().next().getBoolean("taken"));
    }

    /** Forgets the generation's prediction; false when the lease was lost (nothing written). */
    public Uni<Boolean> forgetPrediction(UUID jobId, String owner) {
        return pool.preparedQuery(FORGET_PREDICTION).execute(Tuple.of(jobId, owner)).map(rows -> rows.rowCount() > 0);
    }

    /**
     * Completes the job (its generation follows by the V4 trigger); false when the lease was lost (nothing
     * written). Completions arriving together share one statement ({@link JobCompleter}).
     */
    public Uni<Boolean> complete(UUID jobId, String owner, JsonObject result) {
        return completer.complete(jobId, owner, result);
    }
}
