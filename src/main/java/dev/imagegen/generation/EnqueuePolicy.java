package dev.imagegen.generation;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import dev.imagegen.api.ApiException;
import dev.imagegen.api.ProblemType;
import dev.imagegen.auth.Caller;
import dev.imagegen.config.ImagegenConfig;

/**
 * Who may enqueue what, how much and how fast: the request's envelope (body size, Idempotency-Key), the
 * operator-only priority, the model allowlist, the per-user enqueue rate and the cap on unfinished
 * generations, and the attempts a new job gets. Operators are exempt from the two per-user limits.
 */
@ApplicationScoped
public class EnqueuePolicy {

    /**
     * Retry-After of a 429 at the active cap. Generations take seconds to finish, and the client cannot know
     * which one will finish first: a short, fixed wait.
     */
    static final long ACTIVE_CAP_RETRY_AFTER_SECONDS = 10;

    @Inject
    ImagegenConfig config;

    @Inject
    ModelAllowlist models;

    @Inject
    EnqueueRateLimiter rateLimiter;

    /** 413 for a body over {@code imagegen.api.max-body-bytes}; 400 for an Idempotency-Key that is empty or too long. */
    public void checkEnvelope(byte[] body, String idempotencyKey) {
        if (body != null && body.length > config.api().maxBodyBytes()) {
            throw new ApiException(ProblemType.PAYLOAD_TOO_LARGE,
                    "The body is " + body.length + " bytes; the limit is " + config.api().maxBodyBytes() + ".");
        }
        if (idempotencyKey != null && (idempotencyKey.isEmpty() || idempotencyKey.length() > 255)) {
            throw ApiException.invalid("Idempotency-Key", "must be 1 to 255 characters");
        }
    }

    /** 403 when a user sets priority (operators only); 400 for a model outside the allowlist. */
    void admit(Caller caller, GenerationRequest request) {
        if (request.priority() != null && !caller.operator()) {
            throw ApiException.forbidden("Only operators (service_role) may set priority.");
        }
        models.check(request.modelId());
    }

    /** The 429 to answer when {@code owner} is over the enqueue rate (this replica's memory); empty if not. */
    Optional<ApiException> overRate(Caller caller, String owner) {
        Optional<Long> wait = caller.operator() ? Optional.empty() : rateLimiter.tryAcquire(owner);
        return wait.map(seconds -> tooManyRequests("Too many enqueues: the limit is " + config.limits().enqueuePerMinute()
                + " per minute; retry in " + seconds + " s.", seconds));
    }

    /** The caller's cap on unfinished generations; null (none) for operators or when the cap is off. */
    Integer activeCap(Caller caller) {
        int cap = config.limits().maxActivePerUser();
        return caller.operator() || cap <= 0 ? null : cap;
    }

    static ApiException tooManyActive(Integer maxActive) {
        return tooManyRequests("You already have " + maxActive + " unfinished generations, the most allowed at once;"
                + " enqueue again when one of them has finished.", ACTIVE_CAP_RETRY_AFTER_SECONDS);
    }

    /** The attempts a new job gets. */
    int maxAttempts() {
        return config.jobs().maxAttempts();
    }

    /** How long an Idempotency-Key answers its first result again. */
    Duration idempotencyTtl() {
        return config.api().idempotencyTtl();
    }

    private static ApiException tooManyRequests(String detail, long retryAfterSeconds) {
        return new ApiException(ProblemType.TOO_MANY_REQUESTS, detail, null,
                Map.of("Retry-After", Long.toString(retryAfterSeconds)));
    }
}
