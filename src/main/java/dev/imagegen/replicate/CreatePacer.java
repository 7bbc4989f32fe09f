package dev.imagegen.replicate;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Paces prediction creates to at most {@code perMinute} a minute, with bursts of up to a second's worth
 * (at least one): the generic cell rate algorithm, i.e. a token bucket of that capacity refilled at that rate.
 * Every caller reserves its own send time at once (lock-free) and is told how long to wait for it, so
 * waiting callers keep their order and never retry against the limit. Replicate answers a create above its
 * limit (600 a minute by default) with 429; pacing here keeps a full worker just under it instead of
 * bouncing off it.
 */
final class CreatePacer {

    private final long intervalNanos;
    private final long toleranceNanos;
    /** Theoretical arrival time of the next create (System.nanoTime() scale); MIN_VALUE before the first. */
    private final AtomicLong tat = new AtomicLong(Long.MIN_VALUE);

    /** @param perMinute creates a minute; 0 or less turns pacing off */
    CreatePacer(int perMinute) {
        if (perMinute <= 0) {
            intervalNanos = 0;
            toleranceNanos = 0;
        } else {
            intervalNanos = 60_000_000_000L / perMinute;
            long burst = Math.max(1, perMinute / 60);
            toleranceNanos = (burst - 1) * intervalNanos;
        }
    }

    boolean enabled() {
        return intervalNanos > 0;
    }

    /** Reserves the next send time for a create wanted at {@code nowNanos}; returns the nanoseconds to wait (≥ 0). */
    long reserve(long nowNanos) {
        if (intervalNanos == 0) {
            return 0;
        }
        while (true) {
            long current = tat.get();
            long base = current == Long.MIN_VALUE || current - nowNanos < 0 ? nowNanos : current;
            long sendAt = Math.max(nowNanos, base - toleranceNanos);
            if (tat.compareAndSet(current, base + intervalNanos)) {
                return sendAt - nowNanos;
            }
        }
    }
}
