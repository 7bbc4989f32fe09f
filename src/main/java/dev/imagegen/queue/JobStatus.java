package dev.imagegen.queue;

import java.util.Locale;
import java.util.Optional;

/** Job states: {@code pending → processing → completed | failed | canceled}, and back to pending on retry or rescue. */
public enum JobStatus {
    PENDING, PROCESSING, COMPLETED, FAILED, CANCELED;

    @com.fasterxml.jackson.annotation.JsonValue
    public String db() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static JobStatus fromDb(String s) {
        return valueOf(s.toUpperCase(Locale.ROOT));
    }

    public static Optional<JobStatus> parse(String s) {
        for (JobStatus v : values()) {
            if (v.db().equals(s)) {
                return Optional.of(v);
            }
        }
        return Optional.empty();
    }
}
