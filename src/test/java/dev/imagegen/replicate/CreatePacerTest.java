package dev.imagegen.replicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The create pacer on a synthetic clock: a short burst, then one create per interval under the limit, refilled when idle. */
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
    void halfASecondsBurstThenOneEveryIntervalInOrder() {
        CreatePacer pacer = new CreatePacer(600); // limit 10 a second: paced at 97 %, burst 5
        assertTrue(pacer.enabled());
        long interval = pacer.intervalNanos();
        assertEquals(60_000 * MS / 582.0, interval, MS, "one create per ~103 ms");
        long now = 5_000 * MS;
        for (int i = 0; i < 5; i++) {
            assertEquals(0, pacer.reserve(now), "burst create " + i);
        }
        for (int i = 1; i <= 50; i++) {
            assertEquals(i * interval, pacer.reserve(now), "queued create " + i);
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
        for (int i = 0; i + 600 < sendAt.length; i++) {
            // creates i .. i+600 (601 of them) never fall inside one minute: the limit holds, burst included
            assertTrue(sendAt[i + 600] - sendAt[i] >= 60_000 * MS, "601 creates within a minute at " + i);
        }
    }

    @Test
    void refillsAfterIdle() {
        CreatePacer pacer = new CreatePacer(60); // limit 1 a second: burst 1, one per ~1.03 s
        long interval = pacer.intervalNanos();
        assertEquals(0, pacer.reserve(0));
        assertEquals(interval, pacer.reserve(0));
        // long after: a fresh token, no debt carried
        assertEquals(0, pacer.reserve(10_000 * MS));
        assertEquals(interval, pacer.reserve(10_000 * MS));
    }
}
