package dev.imagegen.generation;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * One token bucket per key: {@code perMinute} tokens, refilled continuously at {@code perMinute} per
 * minute. Taking a token is one atomic {@link ConcurrentHashMap#compute} on the key: O(1), lock-free
 * across keys, never blocking. A bucket left alone for a minute is full again, which is exactly what an
 * absent bucket means, so {@link #evictFull()} may drop it: memory holds only the keys used within about
 * the last minute (plus the time between two evictions).
 */
final class TokenBuckets {

    /** Tokens left and when they were counted; {@code granted} tells the caller of the last take. */
    private record Bucket(double tokens, long atNanos, boolean granted) {
    }

    private static final long NANOS_PER_MINUTE = 60_000_000_000L;

    private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();
    private final double capacity;
    private final double tokensPerNano;
    private final LongSupplier nanoClock;

    TokenBuckets(int perMinute, LongSupplier nanoClock) {
        if (perMinute < 1) {
            throw new IllegalArgumentException("perMinute must be at least 1, got " + perMinute);
        }
        this.capacity = perMinute;
        this.tokensPerNano = perMinute / (double) NANOS_PER_MINUTE;
        this.nanoClock = nanoClock;
    }

    /**
     * Takes one token from {@code key}'s bucket. Answers 0 when it was granted, else the nanoseconds until
     * one token will be available (nothing is taken then).
     */
    long tryTake(String key) {
        long now = nanoClock.getAsLong();
        Bucket b = buckets.compute(key, (k, old) -> {
            double tokens = old == null ? capacity : refilled(old, now);
            return tokens >= 1 ? new Bucket(tokens - 1, now, true) : new Bucket(tokens, now, false);
        });
        return b.granted() ? 0 : (long) Math.ceil((1 - b.tokens()) / tokensPerNano);
    }

    /** Drops the buckets that have refilled completely (indistinguishable from absent); answers how many. */
    int evictFull() {
        long now = nanoClock.getAsLong();
        int before = buckets.size();
        // ConcurrentHashMap removes an entry only if it still holds the value the predicate saw.
        buckets.entrySet().removeIf(e -> refilled(e.getValue(), now) >= capacity);
        return Math.max(0, before - buckets.size());
    }

    /** Keys currently tracked. */
    int size() {
        return buckets.size();
    }

    private double refilled(Bucket b, long now) {
        return Math.min(capacity, b.tokens() + Math.max(0, now - b.atNanos()) * tokensPerNano);
    }
}
