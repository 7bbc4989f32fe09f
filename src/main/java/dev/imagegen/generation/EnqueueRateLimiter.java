package dev.imagegen.generation;

import java.util.Optional;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.quarkus.scheduler.Scheduled;

import dev.imagegen.config.ImagegenConfig;

/**
 * Per-user enqueue rate limit ({@code imagegen.limits.enqueue-per-minute}): a token bucket per user, with a
 * burst of the same size, held in this replica's memory. With R replicas behind a load balancer a user may
 * reach up to R times the rate; the database-checked active cap bounds what that can cost.
 */
@ApplicationScoped
public class EnqueueRateLimiter {

    private final TokenBuckets buckets;

    @Inject
    public EnqueueRateLimiter(ImagegenConfig config) {
        int perMinute = config.limits().enqueuePerMinute();
        this.buckets = perMinute > 0 ? new TokenBuckets(perMinute, System::nanoTime) : null;
    }

    /**
     * Takes one of the user's tokens. Empty when granted (or the limit is off); else the whole seconds
     * (at least 1) until the user's next token, for {@code Retry-After}.
     */
    public Optional<Long> tryAcquire(String user) {
        if (buckets == null) {
            return Optional.empty();
        }
        long waitNanos = buckets.tryTake(user);
        if (waitNanos == 0) {
            return Optional.empty();
        }
        return Optional.of(Math.max(1, (waitNanos + TimeUnit.SECONDS.toNanos(1) - 1) / TimeUnit.SECONDS.toNanos(1)));
    }

    /** Keeps memory to the users seen in about the last minute: full buckets are forgotten. */
    @Scheduled(every = "60s", delayed = "60s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void evictIdle() {
        if (buckets != null) {
            buckets.evictFull();
        }
    }

    /** Users currently tracked (for tests). */
    int tracked() {
        return buckets == null ? 0 : buckets.size();
    }
}
