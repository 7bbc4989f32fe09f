package dev.imagegen.generation;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;

import dev.imagegen.api.ApiException;
import dev.imagegen.api.ProblemType;
import dev.imagegen.auth.Caller;
import dev.imagegen.metrics.Metrics;
import dev.imagegen.queue.JobNotifier;

/**
 * Writes a generation and its job in one transaction, within {@link EnqueuePolicy}'s limits, and answers an
 * Idempotency-Key replay with the first result; then wakes the worker.
 */
@ApplicationScoped
public class Enqueuer {

    @Inject
    GenerationRepository generations;

    @Inject
    IdempotencyKeyRepository keys;

    @Inject
    EnqueuePolicy policy;

    @Inject
    JobNotifier notifier;

    @Inject
    Metrics metrics;

    /** See {@link EnqueuePolicy#checkEnvelope}. */
    public void checkEnvelope(byte[] body, String idempotencyKey) {
        policy.checkEnvelope(body, idempotencyKey);
    }

    /**
     * Enqueues within the caller's limits, cheapest check first: the model allowlist (400), then the rate limit
     * (429, this replica's memory), then the active cap, checked by the database in the same statement that
     * writes the generation and its job (429, nothing written). Operators are exempt from the two per-user
     * limits. With an Idempotency-Key, the same user and key within its TTL answer the first result again
     * ({@code created = false}), even when a limit would refuse a new enqueue; another body is a 409.
     */
    public Uni<Enqueued> enqueue(Caller caller, GenerationRequest request, String idempotencyKey) {
        policy.admit(caller, request);
        String owner = owner(caller);
        String hash = idempotencyKey == null ? null : hash(request);
        Optional<ApiException> overRate = policy.overRate(caller, owner);
        if (overRate.isPresent()) {
            return replayOr(owner, idempotencyKey, hash, overRate.get());
        }
        int maxAttempts = policy.maxAttempts();
        Integer maxActive = policy.activeCap(caller);
        Uni<Enqueued> insert;
        if (idempotencyKey == null) {
            insert = generations.insertWithJob(owner, request, maxAttempts, maxActive)
                    .flatMap(e -> e.map(Uni.createFrom()::item)
                            .orElseGet(() -> Uni.createFrom().failure(EnqueuePolicy.tooManyActive(maxActive))));
        } else {
            insert = withKey(owner, request, maxAttempts, maxActive, idempotencyKey, hash, true);
        }
        return insert.invoke(e -> {
            if (e.created()) {
                notifier.jobsEnqueued();
                metrics.enqueued();
            }
        });
    }

    private Uni<Enqueued> withKey(String owner, GenerationRequest request, int maxAttempts, Integer maxActive,
            String key, String hash, boolean mayRetry) {
        return generations.insertWithJobAndKey(owner, request, maxAttempts, maxActive, key, hash)
                .flatMap(e -> e.map(Uni.createFrom()::item)
                        // At the cap: a replay of an earlier request still answers its first response.
                        .orElseGet(() -> replayOr(owner, key, hash, EnqueuePolicy.tooManyActive(maxActive))))
                .onFailure(IdempotencyKeyRepository::keyTaken).recoverWithUni(() -> keys
                        .find(owner, key, policy.idempotencyTtl())
                        .flatMap(stored -> {
                            if (stored == null || !stored.fresh()) {
                                if (!mayRetry) {
                                    return Uni.createFrom().failure(new ApiException(ProblemType.CONFLICT,
                                            "The Idempotency-Key is in use by a concurrent request; retry."));
                                }
                                return keys.deleteExpired(owner, key, policy.idempotencyTtl())
                                        .flatMap(n -> withKey(owner, request, maxAttempts, maxActive, key, hash, false));
                            }
                            return replay(stored, hash);
                        }));
    }

    /**
     * A refused enqueue: the first answer again when {@code key} was used before by this user within its TTL
     * (a 409 if with another body), else {@code refusal}.
     */
    private Uni<Enqueued> replayOr(String owner, String key, String hash, ApiException refusal) {
        if (key == null) {
            return Uni.createFrom().failure(refusal);
        }
        return keys.find(owner, key, policy.idempotencyTtl())
                .flatMap(stored -> stored == null || !stored.fresh()
                        ? Uni.createFrom().failure(refusal)
                        : replay(stored, hash));
    }

    private static Uni<Enqueued> replay(IdempotencyKeyRepository.StoredKey stored, String hash) {
        if (!stored.requestHash().equals(hash)) {
            return Uni.createFrom().failure(new ApiException(ProblemType.IDEMPOTENCY_CONFLICT,
                    "This Idempotency-Key was already used with a different request body.", null, Map.of()));
        }
        return Uni.createFrom().item(new Enqueued(stored.generationId(), stored.jobId(), false));
    }

    /** The owner recorded for a caller: their subject, or {@link Caller#OPERATOR_OWNER} for an operator without one. */
    static String owner(Caller caller) {
        return caller.userId() != null ? caller.userId() : Caller.OPERATOR_OWNER;
    }

    static String hash(GenerationRequest request) {
        try {
            byte[] canonical = new JsonObject(request.canonical()).encode().getBytes(StandardCharsets.UTF_8);
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(canonical));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
