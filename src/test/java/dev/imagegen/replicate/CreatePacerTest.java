package dev.imagegen.replicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The create pacer on a synthetic clock: a second's burst, then one create per interval, refilled when idle. */
class CreatePacerTest {

    static final long MS = 1_000_000L;

    @Test
    void offWhenZero() {
        CreatePacer pacer = new CreatePacer(0);
        assertFalse(pacer.enabled());
        for (int i = 0; i < 1000; i++) {
            assertEquals(0, pacer.reserve(0));
        }
    }

    @Test
    void aSecondsBurstThenOneEveryIntervalInOrder() {
        CreatePacer pacer = new CreatePacer(600); // 10 a second: burst 10, then one per 100 ms
        assertTrue(pacer.enabled());
        long now = 5_000 * MS;
        for (int i = 0; i < 10; i++) {
            assertEquals(0, pacer.reserve(now), "burst create " + i);
        }
        for (int i = 1; i <= 50; i++) {
            assertEquals(i * 100 * MS, pacer.reserve(now), "queued create " + i);
        }
    }

    @Test
    void neverMoreThanTheLimitInAnyMinute() {
        CreatePacer pacer = new CreatePacer(600);
        long now = 0;
        long[] sendAt = new long[3000];
        for (int i = 0; i < sendAt.length; i++) {
            now += 7 * MS; // callers arrive faster than the limit
            sendAt[i] = now + pacer.reserve(now);
        }
        for (int i = 0; i + 610 < sendAt.length; i++) {
            // creates i .. i+610 (611 of them) cannot all fall inside one minute
            assertTrue(sendAt[i + 610] - sendAt[i] >= 60_000 * MS, "611 creates within a minute at " + i);
        }
    }

    @Test
    void refillsAfterIdle() {
        CreatePacer pacer = new CreatePacer(60); // 1 a second, burst 1
        assertEquals(0, pacer.reserve(0));
        assertEquals(1000 * MS, pacer.reserve(0));
        // long after: a fresh token, no debt carried
        assertEquals(0, pacer.reserve(10_000 * MS));
        assertEquals(1000 * MS, pacer.reserve(10_000 * MS));
    }
}
