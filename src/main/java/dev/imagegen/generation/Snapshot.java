package dev.imagegen.generation;

import java.time.Instant;

/** One read of a generation: the row (for the owner check) and its API JSON; {@link #GONE} when deleted. */
record Snapshot(Generation generation, String json) {

    static final Snapshot GONE = new Snapshot(null, null);

    GenerationStatus status() {
        return generation == null ? null : generation.status();
    }

    boolean ends() {
        return generation == null || generation.status().terminal();
    }

    /**
     * The SSE id of a state: its {@code updated_at} (epoch microseconds) and status. It names the state, not
     * a position in one replica's stream, so it means the same whichever replica a client reconnects to.
     */
    String eventId() {
        Instant at = generation.updatedAt() != null ? generation.updatedAt().toInstant() : Instant.EPOCH;
        return (at.getEpochSecond() * 1_000_000 + at.getNano() / 1_000) + "-" + generation.status().db();
    }
}
