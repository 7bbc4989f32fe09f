package dev.imagegen.generation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

/** The token bucket arithmetic, on a clock the test moves. */
class TokenBucketsTest {

    final AtomicLong now = new AtomicLong(1_000_000_000L);
    final TokenBuckets buckets = new TokenBuckets(6, now::get); // one token every 10 s, burst of 6

    void advanceSeconds(double s) {
        now.addAndGet((long) (s * 1e9));
    }

    @Test
    void aFullBurstIsGrantedThenTheNextWaitsForOneToken() {
        for (int i = 0; i < 6; i++) {
            assertEquals(0, buckets.tryTake("u"), "token " + (i + 1) + " of the burst");
        }
        assertEquals(TimeUnit.SECONDS.toNanos(10), buckets.tryTake("u"), "one token every 10 s");
        advanceSeconds(4);
        assertEquals(TimeUnit.SECONDS.toNanos(6), buckets.tryTake("u"), "a refused take does not reset the refill");
        advanceSeconds(6);
        assertEquals(0, buckets.tryTake("u"));
        assertTrue(buckets.tryTake("u") > 0);
    }

    @Test
    void usersHaveSeparateBuckets() {
        for (int i = 0; i < 6; i++) {
            buckets.tryTake("greedy");
        }
        assertTrue(buckets.tryTake("greedy") > 0);
        assertEquals(0, buckets.tryTake("other"));
    }

    @Test
    void refillStopsAtTheBurstSize() {
        buckets.tryTake("u");
        advanceSeconds(3600);
        for (int i = 0; i < 6; i++) {
            assertEquals(0, buckets.tryTake("u"));
        }
        assertTrue(buckets.tryTake("u") > 0, "an hour idle still gives a burst of 6, not 360");
    }

    @Test
    void evictionForgetsOnlyBucketsThatHaveRefilled() {
        buckets.tryTake("idle");
        advanceSeconds(55);
        buckets.tryTake("busy");
        advanceSeconds(6); // idle: refilled after 10 s; busy: one token short for 4 more seconds
        assertEquals(1, buckets.evictFull());
        assertEquals(1, buckets.size());
        advanceSeconds(4);
        assertEquals(1, buckets.evictFull());
        assertEquals(0, buckets.size());
    }

    @Test
    void anEvictedUserStartsWithAFullBurstAsBefore() {
        for (int i = 0; i < 6; i++) {
            buckets.tryTake("u");
        }
        advanceSeconds(60);
        buckets.evictFull();
        for (int i = 0; i < 6; i++) {
            assertEquals(0, buckets.tryTake("u"));
        }
        assertTrue(buckets.tryTake("u") > 0);
    }
}
