package dev.imagegen.generation;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;

import dev.imagegen.api.ApiException;
import dev.imagegen.api.Cursor;
import dev.imagegen.api.Page;
import dev.imagegen.api.ProblemType;
import dev.imagegen.auth.Caller;
import dev.imagegen.config.ImagegenConfig;
import dev.imagegen.image.Image;
import dev.imagegen.image.ImageLinks;
import dev.imagegen.image.ImageRepository;
import dev.imagegen.metrics.Metrics;
import dev.imagegen.queue.JobNotifier;
import dev.imagegen.queue.JobRepository;
import dev.imagegen.replicate.ReplicateClient;

/** Enqueues generations and reads them back for their owner. */
@ApplicationScoped
public class GenerationService {

    /** The owner recorded for an operator token without a subject; no user token may claim it (CallerResolver). */
    static final String OPERATOR_OWNER = Caller.OPERATOR_OWNER;

    /**
     * Retry-After of a 429 at the active cap. Generations take seconds to finish, and the client cannot know
     * which one will finish first: a short, fixed wait.
     */
    static final long ACTIVE_CAP_RETRY_AFTER_SECONDS = 10;

    @Inject
    GenerationRepository generations;

    @Inject
    IdempotencyKeyRepository keys;

    @Inject
    ImageRepository images;

    @Inject
    ImageLinks links;

    @Inject
    EventLinks eventLinks;

    @Inject
    dev.imagegen.storage.ImageStore store;

    @Inject
    JobNotifier notifier;

    @Inject
    ImagegenConfig config;

    @Inject
    JobRepository jobs;

    @Inject
    ReplicateClient replicate;

    @Inject
    Metrics metrics;

    @Inject
    ModelAllowlist models;

    @Inject
    EnqueueRateLimiter rateLimiter;

    /**
     * Enqueues within the caller's limits, cheapest check first: the model allowlist (400), then the rate limit
     * (429, this replica's memory), then the active cap, checked by the database in the same statement that
     * writes the generation and its job (429, nothing written). Operators are exempt from the two per-user
     * limits. With an Idempotency-Key, the same user and key within its TTL answer the first result again
     * ({@code created = false}), even when a limit would refuse a new enqueue; another body is a 409.
     */
    public Uni<Enqueued> enqueue(Caller caller, GenerationRequest request, String idempotencyKey) {
        if (request.priority() != null && !caller.operator()) {
            throw ApiException.forbidden("Only operators (service_role) may set priority.");
        }
        models.check(request.modelId());
        String owner = owner(caller);
        String hash = idempotencyKey == null ? null : hash(request);
        Optional<Long> wait = caller.operator() ? Optional.empty() : rateLimiter.tryAcquire(owner);
        if (wait.isPresent()) {
            return replayOr(owner, idempotencyKey, hash, tooManyEnqueues(wait.get()));
        }
        int maxAttempts = config.jobs().maxAttempts();
        Integer maxActive = activeCap(caller);
        Uni<Enqueued> insert;
        if (idempotencyKey == null) {
            insert = generations.insertWithJob(owner, request, maxAttempts, maxActive)
                    .flatMap(e -> e.map(Uni.createFrom()::item)
                            .orElseGet(() -> Uni.createFrom().failure(tooManyActive(maxActive))));
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
                        .orElseGet(() -> replayOr(owner, key, hash, tooManyActive(maxActive))))
                .onFailure(IdempotencyKeyRepository::keyTaken).recoverWithUni(() -> keys
                        .find(owner, key, config.api().idempotencyTtl())
                        .flatMap(stored -> {
                            if (stored == null || !stored.fresh()) {
                                if (!mayRetry) {
                                    return Uni.createFrom().failure(new ApiException(ProblemType.CONFLICT,
                                            "The Idempotency-Key is in use by a concurrent request; retry."));
                                }
                                return keys.deleteExpired(owner, key, config.api().idempotencyTtl())
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
        return keys.find(owner, key, config.api().idempotencyTtl())
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

    /** The caller's cap on unfinished generations; null (none) for operators or when the cap is off. */
    private Integer activeCap(Caller caller) {
        int cap = config.limits().maxActivePerUser();
        return caller.operator() || cap <= 0 ? null : cap;
    }

    private static ApiException tooManyActive(Integer maxActive) {
        return tooManyRequests("You already have " + maxActive + " unfinished generations, the most allowed at once;"
                + " enqueue again when one of them has finished.", ACTIVE_CAP_RETRY_AFTER_SECONDS);
    }

    private ApiException tooManyEnqueues(long retryAfterSeconds) {
        return tooManyRequests("Too many enqueues: the limit is " + config.limits().enqueuePerMinute()
                + " per minute; retry in " + retryAfterSeconds + " s.", retryAfterSeconds);
    }

    private static ApiException tooManyRequests(String detail, long retryAfterSeconds) {
        return new ApiException(ProblemType.TOO_MANY_REQUESTS, detail, null,
                Map.of("Retry-After", Long.toString(retryAfterSeconds)));
    }

    public Uni<GenerationView> get(Caller caller, UUID id) {
        return generations.findById(id)
                .map(g -> {
                    if (g == null || !visible(caller, g)) {
                        throw ApiException.notFound("Generation " + id);
                    }
                    return g;
                })
                .flatMap(g -> views(List.of(g)).map(list -> list.get(0)));
    }

    /**
     * Cancels a queued or running generation and its job, and its Replicate prediction if it has one;
     * a finished generation is a 409.
     */
    public Uni<GenerationView> cancel(Caller caller, UUID id) {
        return generations.findById(id)
                .flatMap(g -> {
                    if (g == null || !visible(caller, g)) {
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
                            .ifNoItem().after(java.time.Duration.ofSeconds(10)).fail()
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
                : generations.listForUser(owner(caller), status, cursor, limit + 1);
        return rows.flatMap(list -> {
            boolean more = list.size() > limit;
            List<Generation> page = more ? list.subList(0, limit) : list;
            String next = more ? Cursor.of(page.get(limit - 1).createdAt(), page.get(limit - 1).id()).encode() : null;
            return views(page).map(v -> new Page<>(v, next));
        });
    }

    /** Views with their images, in one query for the whole list. */
    public Uni<List<GenerationView>> views(List<Generation> list) {
        List<UUID> ids = list.stream().map(Generation::id).toList();
        return images.findByGenerations(ids).map(all -> {
            Map<UUID, List<GenerationView.ImageView>> byGeneration = new LinkedHashMap<>();
            for (Image i : all) {
                byGeneration.computeIfAbsent(i.generationId(), k -> new ArrayList<>())
                        .add(new GenerationView.ImageView(i.id(), url(i), i.contentType(), i.sizeBytes(),
                                i.width(), i.height(), i.sha256()));
            }
            List<GenerationView> out = new ArrayList<>(list.size());
            for (Generation g : list) {
                out.add(GenerationView.of(g, byGeneration.getOrDefault(g.id(), List.of()), eventLinks));
            }
            return out;
        });
    }

    /** The store's own presigned URL where it gives one (S3), else a signed link to the content endpoint. */
    private String url(Image i) {
        return store.publicUrl(i.storageKey(), config.api().imageLinkTtl()).orElseGet(() -> links.url(i.id()));
    }

    /** A user sees their own generations; an operator sees all. */
    public static boolean visible(Caller caller, Generation g) {
        return caller.operator() || g.userId().equals(caller.userId());
    }

    static String owner(Caller caller) {
        return caller.userId() != null ? caller.userId() : OPERATOR_OWNER;
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
