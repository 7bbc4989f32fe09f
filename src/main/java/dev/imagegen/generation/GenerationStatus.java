package dev.imagegen.generation;

import java.util.Locale;
import java.util.Optional;

/** The life of a generation: {@code queued → processing → downloading → completed}, or failed / canceled. */
public enum GenerationStatus {
    PENDING, QUEUED, PROCESSING, DOWNLOADING, COMPLETED, FAILED, CANCELED;

    public String db() {
        return name().toLowerCase(Locale.ROOT);
    }

    public boolean terminal() {
        return this == COMPLETED || this == FAILED || this == CANCELED;
    }

    public static GenerationStatus fromDb(String s) {
        return valueOf(s.toUpperCase(Locale.ROOT));
    }

    public static Optional<GenerationStatus> parse(String s) {
        for (GenerationStatus v : values()) {
            if (v.db().equals(s)) {
                return Optional.of(v);
            }
        }
        return Optional.empty();
    }
}
