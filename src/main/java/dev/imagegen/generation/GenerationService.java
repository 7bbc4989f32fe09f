package dev.imagegen.generation;

import java.time.Duration;
import java.util.List;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.smallrye.mutiny.Uni;

import dev.imagegen.api.ApiException;
import dev.imagegen.api.Cursor;
import dev.imagegen.api.Page;
import dev.imagegen.auth.Caller;
import dev.imagegen.queue.JobRepository;
import dev.imagegen.replicate.ReplicateClient;

/** Enqueues generations and reads them back for their owner: what the generation endpoints call. */
@ApplicationScoped
public class GenerationService {

    /** The longest a best-effort cancel of the Replicate prediction may take. */
    private static final Duration PREDICTION_CANCEL_TIMEOUT = Duration.ofSeconds(10);

    @Inject
    GenerationRepository generations;

    @Inject
    Enqueuer enqueuer;

    @Inject
    GenerationViews views;

    @Inject
    JobRepository jobs;

    @Inject
    ReplicateClient replicate;

    /** 413 for a body over the size limit, 400 for a malformed Idempotency-Key: checked before anything else. */
    public void checkEnvelope(byte[] body, String idempotencyKey) {
        enqueuer.checkEnvelope(body, idempotencyKey);
    }

    /** Enqueues a generation (see {@link Enqueuer#enqueue}) and answers with its events link. */
    public Uni<EnqueueResponse> enqueue(Caller caller, GenerationRequest request, String idempotencyKey) {
        return enqueuer.enqueue(caller, request, idempotencyKey).map(views::enqueued);
    }

    public Uni<GenerationView> get(Caller caller, UUID id) {
        return generations.findById(id)
                .map(g -> {
                    if (g == null || !g.visibleTo(caller)) {
                        throw ApiException.notFound("Generation " + id);
                    }
                    return g;
                })
                .flatMap(views::view);
    }

    /**
     * Cancels a queued or running generation and its job, and its Replicate prediction if it has one;
     * a finished generation is a 409.
     */
    public Uni<GenerationView> cancel(Caller caller, UUID id) {
        return generations.findById(id)
                .flatMap(g -> {
                    if (g == null || !g.visibleTo(caller)) {
                        return Uni.createFrom().failure(ApiException.notFound("Generation " + id));
                    }
                    if (g.status().terminal()) {
                        return Uni.createFrom().failure(alreadyFinished(g.status()));
                    }
                    return jobs.cancelGeneration(id);
                })
                .flatMap(c -> {
                    if (c == null) {
                        return Uni.createFrom().failure(ApiException.notFound("Generation " + id));
                    }
                    if (!c.canceled()) {
                        return Uni.createFrom().failure(alreadyFinished(GenerationStatus.fromDb(c.previousStatus())));
                    }
                    if (c.predictionId() == null) {
                        return Uni.createFrom().voidItem();
                    }
                    // Best effort: the prediction stops costing money; a failure here changes nothing for the user.
                    return replicate.cancel(c.predictionId())
                            .ifNoItem().after(PREDICTION_CANCEL_TIMEOUT).fail()
                            .onFailure().recoverWithNull();
                })
                .flatMap(x -> get(caller, id));
    }

    private static ApiException alreadyFinished(GenerationStatus status) {
        return ApiException.conflict("The generation has already finished (" + status.db() + ") and cannot be canceled.");
    }

    public Uni<Page<GenerationView>> list(Caller caller, GenerationStatus status, Cursor cursor, int limit) {
        Uni<List<Generation>> rows = caller.operator()
                ? generations.listAll(status, cursor, limit + 1)
                : generations.listForUser(Enqueuer.owner(caller), status, cursor, limit + 1);
        return rows.flatMap(list -> {
            boolean more = list.size() > limit;
            List<Generation> page = more ? list.subList(0, limit) : list;
            String next = more ? Cursor.of(page.get(limit - 1).createdAt(), page.get(limit - 1).id()).encode() : null;
            return views.views(page).map(v -> new Page<>(v, next));
        });
    }
}
