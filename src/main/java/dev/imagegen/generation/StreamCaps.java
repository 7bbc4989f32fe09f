package dev.imagegen.generation;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The caps on this replica's open event streams: all of them ({@code imagegen.limits.max-streams-per-replica})
 * and each generation owner's ({@code imagegen.limits.max-streams-per-user}). Places are taken and given back
 * without locks; a refused stream never holds one.
 */
final class StreamCaps {

    /** The per-user cap; changeable so that a test can set it. */
    volatile int maxPerUser;

    /** The per-replica cap; changeable so that a test can shorten it. */
    volatile int maxPerReplica;

    /** Streams admitted and not yet ended (the per-replica cap and the open-streams gauge). */
    private final AtomicInteger open = new AtomicInteger();

    /** Places held per generation owner; an owner with none has no entry. */
    private final Map<String, Integer> byOwner = new ConcurrentHashMap<>();

    StreamCaps(int maxPerUser, int maxPerReplica) {
        this.maxPerUser = maxPerUser;
        this.maxPerReplica = maxPerReplica;
    }

    int open() {
        return open.get();
    }

    /** Takes one of this replica's places, if one is free. */
    boolean admit() {
        while (true) {
            int n = open.get();
            if (n >= maxPerReplica) {
                return false;
            }
            if (open.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    /** Gives back a place taken by {@link #admit()}. */
    void leave() {
        open.decrementAndGet();
    }

    /** Takes one of {@code owner}'s places, if one is free. */
    boolean acquire(String owner) {
        boolean[] taken = { false };
        byOwner.compute(owner, (k, n) -> {
            int held = n == null ? 0 : n;
            if (held >= maxPerUser) {
                return n;
            }
            taken[0] = true;
            return held + 1;
        });
        return taken[0];
    }

    /** Gives back a place taken by {@link #acquire(String)}. */
    void release(String owner) {
        byOwner.computeIfPresent(owner, (k, n) -> n <= 1 ? null : n - 1);
    }
}
