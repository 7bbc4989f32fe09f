package dev.imagegen.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.Test;

class RetryPolicyTest {

    static final Duration BASE = Duration.ofSeconds(10);
    static final Duration MAX = Duration.ofMinutes(10);

    @Test
    void ceilingDoublesPerAttemptUpToTheCap() {
        assertEquals(Duration.ofSeconds(10), RetryPolicy.ceiling(1, BASE, MAX));
        assertEquals(Duration.ofSeconds(20), RetryPolicy.ceiling(2, BASE, MAX));
        assertEquals(Duration.ofSeconds(40), RetryPolicy.ceiling(3, BASE, MAX));
        assertEquals(MAX, RetryPolicy.ceiling(20, BASE, MAX));
        assertEquals(MAX, RetryPolicy.ceiling(Integer.MAX_VALUE, BASE, MAX));
        assertEquals(Duration.ofSeconds(10), RetryPolicy.ceiling(0, BASE, MAX));
    }

    @Test
    void fullJitterSpansZeroToTheCeiling() {
        assertEquals(Duration.ZERO, RetryPolicy.next(3, BASE, MAX, () -> 0.0));
        assertEquals(Duration.ofSeconds(20), RetryPolicy.next(3, BASE, MAX, () -> 0.5));
        assertTrue(RetryPolicy.next(3, BASE, MAX, () -> 0.999).compareTo(Duration.ofSeconds(40)) < 0);
        for (int i = 0; i < 1000; i++) {
            Duration d = RetryPolicy.next(5, BASE, MAX);
            assertTrue(!d.isNegative() && d.compareTo(RetryPolicy.ceiling(5, BASE, MAX)) <= 0);
        }
    }
}
