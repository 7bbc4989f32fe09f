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

import dev.imagegen.generation.GenerationRepository;
import dev.imagegen.queue.JobCompleter;

/**
 * A generate-image job's own steps, each guarded by the job's lease ($1 job id, $2 owner, job still
 * processing), so a worker that lost its job (rescue, cancel) changes nothing: its stored outputs (the
 * {@code images} SQL here), its generation's prediction id and downloading status (SQL in
 * {@link GenerationRepository}, the one owner of {@code image_generations}), and its completion (the queue's
 * {@link JobCompleter}). Status changes that follow the job (processing, queued, completed, failed, canceled)
 * are written nowhere in Java: the V4 trigger mirrors them from {@code job_queue}.
 */
@ApplicationScoped
public class GenerationJobRepository {

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

    @Inject
    Pool pool;

    @Inject
    JobCompleter completer;

    @Inject
    GenerationRepository generations;

    /** Saves the prediction id before any waiting; false when the lease was lost (nothing written). */
    public Uni<Boolean> recordPrediction(UUID jobId, String owner, String predictionId) {
        return generations.recordPrediction(jobId, owner, predictionId);
    }

    /** The generation to downloading; false when the lease was lost (nothing written). */
    public Uni<Boolean> markDownloading(UUID jobId, String owner) {
        return generations.markDownloading(jobId, owner);
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
        return generations.recordedElsewhere(predictionId, generationId);
    }

    /** Forgets the generation's prediction; false when the lease was lost (nothing written). */
    public Uni<Boolean> forgetPrediction(UUID jobId, String owner) {
        return generations.forgetPrediction(jobId, owner);
    }

    /**
     * Completes the job (its generation follows by the V4 trigger); false when the lease was lost (nothing
     * written). Completions arriving together share one statement ({@link JobCompleter}).
     */
    public Uni<Boolean> complete(UUID jobId, String owner, JsonObject result) {
        return completer.complete(jobId, owner, result);
    }
}
