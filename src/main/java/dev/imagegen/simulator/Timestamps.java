package dev.imagegen.simulator;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/** RFC 3339 UTC timestamps with the varying fractional precision Replicate sends (3, 4, 6 or 9 digits). */
final class Timestamps {

    private static final DateTimeFormatter SECONDS = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss")
            .withZone(ZoneOffset.UTC);
    private static final int[] DIGITS = { 6, 4, 3, 9 };
    private static final AtomicInteger NEXT = new AtomicInteger();

    private Timestamps() {
    }

    /** Now, with nanoseconds filled in where the clock has only microseconds. */
    static Instant now() {
        Instant t = Instant.now();
        if (t.getNano() % 1000 == 0) {
            t = t.plusNanos(ThreadLocalRandom.current().nextInt(1000));
        }
        return t;
    }

    /** A timestamp and its text; {@code instant} is exactly what {@code text} says (digits beyond it dropped). */
    record Stamp(Instant instant, String text) {
        static Stamp of(Instant t) {
            String text = format(t);
            return new Stamp(Instant.parse(text), text);
        }
    }

    /** {@code t} with the next precision of the rotation. */
    static String format(Instant t) {
        int digits = DIGITS[Math.floorMod(NEXT.getAndIncrement(), DIGITS.length)];
        String nanos = String.format("%09d", t.getNano()).substring(0, digits);
        return SECONDS.format(t) + "." + nanos + "Z";
    }
}
