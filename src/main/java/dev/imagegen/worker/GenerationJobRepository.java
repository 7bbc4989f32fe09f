package dev.imagegen.worker;

import java.util.Set;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;

import dev.imagegen.generation.GenerationRepository;
import dev.imagegen.image.ImageRepository;
import dev.imagegen.queue.JobCompleter;

/**
 * A generate-image job's own steps, each guarded by the job's lease ($1 job id, $2 owner, job still
 * processing), so a worker that lost its job (rescue, cancel) changes nothing: its stored outputs (SQL in
 * {@link ImageRepository}, the one owner of {@code images}), its generation's prediction id and downloading status (SQL in
 * {@link GenerationRepository}, the one owner of {@code image_generations}), and its completion (the queue's
 * {@link JobCompleter}). Status changes that follow the job (processing, queued, completed, failed, canceled)
 * are written nowhere in Java: the V4 trigger mirrors them from {@code job_queue}.
 */
@ApplicationScoped
public class GenerationJobRepository {

    @Inject
    ImageRepository images;

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
        return images.recordForJob(jobId, owner, new ImageRepository.StoredOutput(outputIndex, image.key(),
                image.contentType(), image.sizeBytes(), image.width(), image.height(), image.sha256()));
    }

    /** Output indexes of the generation already stored (by this or an earlier attempt). */
    public Uni<Set<Integer>> storedOutputs(UUID generationId) {
        return images.storedOutputs(generationId);
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
