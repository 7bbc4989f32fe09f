package dev.imagegen.replicate;

import java.net.ConnectException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.TimeoutException;

import jakarta.ws.rs.core.Response;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

import dev.imagegen.replicate.JobException.Kind;

/**
 * Reads Replicate's answers for {@link ReplicateClient}: the prediction or JSON body of a 2xx, the named
 * {@link JobException} of anything else (5xx and 408 transient, 401/402 the account refused, other 4xx
 * permanent with Replicate's own problem detail), how long a 429 asks to wait, and a short description of
 * a call that got no answer at all. No state: every method is a function of the answer.
 */
final class ReplicateAnswers {

    static final Duration DEFAULT_THROTTLE = Duration.ofSeconds(5);
    static final Duration MAX_THROTTLE = Duration.ofMinutes(2);

    private ReplicateAnswers() {
    }

    /** {@code Retry-After} in seconds or as an HTTP date, else the body's {@code retry_after}, else 5 s. */
    static Duration retryAfter(Response r) {
        String header = r.getHeaderString("Retry-After");
        Duration d = null;
        if (header != null) {
            try {
                d = Duration.ofSeconds(Long.parseLong(header.trim()));
            } catch (NumberFormatException e) {
                try {
                    d = Duration.between(Instant.now(),
                            ZonedDateTime.parse(header.trim(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant());
                } catch (RuntimeException e2) {
                    d = null;
                }
            }
        }
        if (d == null) {
            try {
                JsonObject body = new JsonObject(r.readEntity(String.class));
                Object ra = body.getValue("retry_after");
                if (ra instanceof Number n) {
                    d = Duration.ofMillis((long) (n.doubleValue() * 1000));
                }
            } catch (RuntimeException e) {
                d = null;
            }
        }
        if (d == null || d.isNegative() || d.isZero()) {
            d = DEFAULT_THROTTLE;
        }
        return d.compareTo(MAX_THROTTLE) > 0 ? MAX_THROTTLE : d;
    }

    static Prediction prediction(Response r, String what) {
        JsonObject json = json(r, what);
        try {
            return Prediction.parse(json);
        } catch (IllegalArgumentException e) {
            throw new JobException(Kind.TRANSIENT, "Replicate answered without a prediction id.");
        }
    }

    static JsonObject json(Response r, String what) {
        translate(r, what);
        String body;
        try {
            body = r.readEntity(String.class);
            return new JsonObject(body);
        } catch (DecodeException | IllegalStateException | ClassCastException e) {
            throw new JobException(Kind.TRANSIENT, "Replicate's answer could not be read (HTTP " + r.getStatus() + ").", e);
        }
    }

    /** Throws for a non-2xx answer. */
    static void translate(Response r, String what) {
        int status = r.getStatus();
        if (status >= 200 && status < 300) {
            return;
        }
        if (status >= 500 || status == 408) {
            throw new JobException(Kind.TRANSIENT, "Replicate is unavailable (HTTP " + status + ") and could not " + what + ".");
        }
        String detail = problemDetail(r);
        Kind kind = status == 401 || status == 402 ? Kind.ACCOUNT_REFUSED : Kind.PERMANENT;
        throw new JobException(kind, "Replicate refused to " + what + " (HTTP " + status + ")"
                + (detail == null ? "." : ": " + detail));
    }

    private static String problemDetail(Response r) {
        try {
            JsonObject body = new JsonObject(r.readEntity(String.class));
            String title = body.getString("title");
            String detail = body.getValue("detail") == null ? null : body.getValue("detail").toString().strip();
            if (title != null && detail != null) {
                return title + ". " + detail;
            }
            return detail != null ? detail : title;
        } catch (RuntimeException e) {
            return null;
        }
    }

    static String describe(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (root instanceof TimeoutException) {
            return "timed out";
        }
        if (root instanceof ConnectException) {
            return "connection refused";
        }
        String m = root.getMessage();
        return m == null ? root.getClass().getSimpleName() : m.length() > 120 ? m.substring(0, 120) : m;
    }
}
