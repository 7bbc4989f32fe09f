package dev.imagegen.worker;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;

/**
 * Exponential backoff with full jitter: the n-th retry waits a uniformly random time in
 * {@code [0, min(max, base * 2^(n-1))]}, so that jobs failing together do not come back together.
 */
public final class RetryPolicy {

    private RetryPolicy() {
    }

    public static Duration next(int attempt, Duration base, Duration max) {
        return next(attempt, base, max, () -> ThreadLocalRandom.current().nextDouble());
    }

    static Duration next(int attempt, Duration base, Duration max, DoubleSupplier random) {
        return Duration.ofMillis((long) (ceiling(attempt, base, max).toMillis() * random.getAsDouble()));
    }

    /** The upper bound of the n-th delay (n ≥ 1). */
    public static Duration ceiling(int attempt, Duration base, Duration max) {
        int n = Math.max(1, attempt);
        long millis = base.toMillis();
        for (int i = 1; i < n && millis < max.toMillis(); i++) {
            millis *= 2;
        }
        return Duration.ofMillis(Math.min(millis, max.toMillis()));
    }
}
