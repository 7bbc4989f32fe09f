package dev.imagegen.worker;

/**
 * Spreads polls in time so that no second (or, below 60 a minute, no window of {@code 60 / perMinute}
 * seconds) holds more than its share of a per-minute limit. A poll asks for a time; it gets the first window
 * at or after it that still has room. Unlike a token bucket, a poll wanted in five minutes does not delay one
 * wanted in one minute: each window is counted on its own. Windows live in a ring covering
 * {@code horizonSeconds}; a time beyond it is clamped to its end, and when every window up to the end is
 * full the poll gets the end anyway (never reached with a horizon longer than the longest wait).
 * Thread-safe; each call is a short scan under a lock, no allocation.
 */
final class PollCalendar {

    private final long windowMillis;
    private final int perWindow;
    private final long[] windowIds;
    private final int[] counts;

    /** @param perMinute polls a minute at most (≥ 1) @param horizonSeconds how far ahead polls are booked */
    PollCalendar(int perMinute, long horizonSeconds) {
        if (perMinute < 1 || horizonSeconds < 1) {
            throw new IllegalArgumentException("perMinute and horizonSeconds must be positive");
        }
        if (perMinute >= 60) {
            windowMillis = 1000;
            perWindow = perMinute / 60;
        } else {
            windowMillis = (60_000 + perMinute - 1) / perMinute;
            perWindow = 1;
        }
        int windows = (int) Math.max(2, horizonSeconds * 1000 / windowMillis + 1);
        windowIds = new long[windows];
        counts = new int[windows];
        java.util.Arrays.fill(windowIds, Long.MIN_VALUE);
    }

    /** Books a poll wanted at {@code wantedMillis}; answers the time it may go (≥ wanted, ≥ now). */
    synchronized long book(long nowMillis, long wantedMillis) {
        long first = Math.floorDiv(Math.max(nowMillis, wantedMillis), windowMillis);
        long last = Math.floorDiv(nowMillis, windowMillis) + windowIds.length - 1;
        first = Math.min(first, last);
        for (long w = first; w <= last; w++) {
            int i = (int) Math.floorMod(w, (long) windowIds.length);
            if (windowIds[i] != w) {
                windowIds[i] = w; // a window that has passed: its slot in the ring starts again
                counts[i] = 0;
            }
            if (counts[i] < perWindow) {
                counts[i]++;
                return w == first ? Math.max(nowMillis, wantedMillis) : w * windowMillis;
            }
        }
        return last * windowMillis;
    }
}
