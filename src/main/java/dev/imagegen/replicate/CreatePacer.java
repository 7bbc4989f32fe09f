package dev.imagegen.replicate;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Paces prediction creates under a per-minute limit: the generic cell rate algorithm, i.e. a token bucket.
 * Every caller reserves its own send time at once (lock-free) and is told how long to wait for it, so
 * waiting callers keep their order and never retry against the limit. Replicate answers a create above its
 * limit (600 a minute by default) with 429, and every 429 closes {@link ReplicateClient}'s gate for all jobs.
 * Pacing at exactly the limit keeps Replicate's own bucket empty, so any jitter on the way (a create that
 * waited for a CPU, then one that did not) lands a 429: the pacer therefore runs at {@link #HEADROOM} of
 * the limit with bursts of half a second's worth (at least one), leaving Replicate's bucket slack to absorb it.
 */
final class CreatePacer {

    /** Share of the limit actually used. */
    static final double HEADROOM = 0.97;

    private final long intervalNanos;
    private final long toleranceNanos;
    /** Theoretical arrival time of the next create (System.nanoTime() scale); MIN_VALUE before the first. */
    private final AtomicLong tat = new AtomicLong(Long.MIN_VALUE);

    /** @param limitPerMinute the account's limit, creates a minute; 0 or less turns pacing off */
    CreatePacer(int limitPerMinute) {
        if (limitPerMinute <= 0) {
            intervalNanos = 0;
            toleranceNanos = 0;
        } else {
            intervalNanos = (long) Math.ceil(60_000_000_000.0 / (limitPerMinute * HEADROOM));
            long burst = Math.max(1, limitPerMinute / 120);
            toleranceNanos = (burst - 1) * intervalNanos;
        }
    }

    long intervalNanos() {
        return intervalNanos;
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
