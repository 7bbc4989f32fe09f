package dev.imagegen.generation;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgException;

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

    /**
     * Writes the generation and its job in one statement. With an Idempotency-Key, the same user and
     * key within its TTL answer the first result again ({@code created = false}); another body is a 409.
     */
    public Uni<Enqueued> enqueue(Caller caller, GenerationRequest request, String idempotencyKey) {
        if (request.priority() != null && !caller.operator()) {
            throw ApiException.forbidden("Only operators (service_role) may set priority.");
        }
        String owner = owner(caller);
        int maxAttempts = config.jobs().maxAttempts();
        Uni<Enqueued> insert;
        if (idempotencyKey == null) {
            insert = generations.insertWithJob(owner, request, maxAttempts);
        } else {
            String hash = hash(request);
            insert = withKey(owner, request, maxAttempts, idempotencyKey, hash, true);
        }
        return insert.invoke(e -> {
            if (e.created()) {
                notifier.jobsEnqueued();
                metrics.enqueued();
            }
        });
    }

    private Uni<Enqueued> withKey(String owner, GenerationRequest request, int maxAttempts, String key, String hash,
            boolean mayRetry) {
        return generations.insertWithJobAndKey(owner, request, maxAttempts, key, hash)
                .onFailure(GenerationService::keyTaken).recoverWithUni(() -> keys
                        .find(owner, key, config.api().idempotencyTtl())
                        .flatMap(stored -> {
                            if (stored == null || !stored.fresh()) {
                                if (!mayRetry) {
                                    return Uni.createFrom().failure(new ApiException(ProblemType.CONFLICT,
                                            "The Idempotency-Key is in use by a concurrent request; retry."));
                                }
                                return keys.deleteExpired(owner, key, config.api().idempotencyTtl())
                                        .flatMap(n -> withKey(owner, request, maxAttempts, key, hash, false));
                            }
                            if (!stored.requestHash().equals(hash)) {
                                return Uni.createFrom().failure(new ApiException(ProblemType.IDEMPOTENCY_CONFLICT,
                                        "This Idempotency-Key was already used with a different request body.",
                                        null, Map.of()));
                            }
                            return Uni.createFrom().item(new Enqueued(stored.generationId(), stored.jobId(), false));
                        }));
    }

    private static boolean keyTaken(Throwable t) {
        return t instanceof PgException pg && "23505".equals(pg.getSqlState())
                && "idempotency_keys_pkey".equals(pg.getConstraint());
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
