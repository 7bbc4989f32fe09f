package dev.imagegen.replicate;

import java.time.Duration;

/**
 * A failure of one job attempt, named by what the queue must do about it. The message is shown to
 * users in {@code error_message}, so it says what went wrong in plain words and never holds a
 * secret.
 */
public class JobException extends RuntimeException {

    public enum Kind {
        /** Try again later with backoff (5xx, timeouts, resets, truncated downloads). */
        TRANSIENT,
        /** Fail the generation now (4xx other than 401/402/429, prediction failed, disallowed output host, too large). */
        PERMANENT,
        /**
         * The prediction can no longer deliver (its outputs expired, it was canceled or aborted, or it timed
         * out and was canceled): try again later with a new prediction.
         */
        OUTPUT_GONE,
        /** Replicate keeps throttling (429): return the job to the queue without spending an attempt. */
        THROTTLED,
        /**
         * Replicate refuses the account itself (401 invalid or revoked token, 402 no credit): no job can
         * succeed until an operator acts, so the job goes back to the queue without spending an attempt and
         * the replica pauses claiming.
         */
        ACCOUNT_REFUSED
    }

    private final Kind kind;
    private final Duration retryAfter;

    public JobException(Kind kind, String message) {
        this(kind, message, null, null);
    }

    public JobException(Kind kind, String message, Throwable cause) {
        this(kind, message, null, cause);
    }

    public JobException(Kind kind, String message, Duration retryAfter, Throwable cause) {
        super(message, cause);
        this.kind = kind;
        this.retryAfter = retryAfter;
    }

    public Kind kind() {
        return kind;
    }

    /** A delay the remote side asked for, if any. */
    public Duration retryAfter() {
        return retryAfter;
    }

    public static JobException transientFailure(String message, Throwable cause) {
        return new JobException(Kind.TRANSIENT, message, cause);
    }

    public static JobException permanent(String message) {
        return new JobException(Kind.PERMANENT, message);
    }
}
