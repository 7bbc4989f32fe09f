package dev.imagegen.replicate;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * A Replicate prediction, read leniently (replicate-api.md §3): fields come and go with state and age,
 * timestamps carry 3 to 9 fractional digits, output may be an array, a single string or null.
 */
public record Prediction(String id, String status, List<String> output, String error, Instant createdAt,
        boolean dataRemoved, JsonObject input, String model, String webhook) {

    public static Prediction parse(JsonObject json) {
        String id = json.getString("id");
        if (id == null || id.isBlank()) {
            throw new IllegalArgumentException("prediction without id");
        }
        Object err = json.getValue("error");
        return new Prediction(id,
                json.getString("status", "starting").toLowerCase(Locale.ROOT),
                outputs(json.getValue("output")),
                err == null ? null : err.toString(),
                instant(json.getValue("created_at")),
                Boolean.TRUE.equals(json.getValue("data_removed")),
                json.getValue("input") instanceof JsonObject in ? in : null,
                json.getValue("model") instanceof String m ? m : null,
                json.getValue("webhook") instanceof String w ? w : null);
    }

    private static List<String> outputs(Object output) {
        List<String> out = new ArrayList<>();
        if (output instanceof JsonArray arr) {
            for (Object o : arr) {
                if (o instanceof String s && !s.isBlank()) {
                    out.add(s);
                }
            }
        } else if (output instanceof String s && !s.isBlank()) {
            out.add(s);
        }
        return out;
    }

    static Instant instant(Object value) {
        if (!(value instanceof String s)) {
            return null;
        }
        try {
            return OffsetDateTime.parse(s).toInstant();
        } catch (DateTimeParseException e) {
            try {
                return Instant.parse(s);
            } catch (DateTimeParseException e2) {
                return null;
            }
        }
    }

    /** Which job attempt created it, from the echoed webhook URL (see {@link CreateMarker}). */
    public java.util.Optional<CreateMarker> marker() {
        return CreateMarker.of(webhook);
    }

    public boolean succeeded() {
        return "succeeded".equals(status);
    }

    /** Failed, canceled or aborted: it will never deliver. */
    public boolean dead() {
        return "failed".equals(status) || "canceled".equals(status) || "aborted".equals(status);
    }

    public boolean terminal() {
        return succeeded() || dead();
    }

    /** Succeeded, but its outputs are gone (removed after the retention hour). */
    public boolean outputsExpired() {
        return succeeded() && (dataRemoved || output.isEmpty());
    }
}
