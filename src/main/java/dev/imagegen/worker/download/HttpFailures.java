package dev.imagegen.worker.download;

import dev.imagegen.replicate.JobException;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.StreamResetException;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeoutException;

/**
 * What an HTTP answer or a connection failure means for the job: the {@link JobException.Kind} and a
 * message a user can read, naming the host (never the URL: it may carry a token).
 * <ul>
 *   <li>403, 404, 410: OUTPUT_GONE (Replicate removes outputs after an hour).</li>
 *   <li>408, 429, 5xx: TRANSIENT, with {@code Retry-After} seconds when given (capped at an hour).</li>
 *   <li>Any other status: PERMANENT.</li>
 *   <li>No connection, a timeout, a reset or an early close: TRANSIENT.</li>
 * </ul>
 */
final class HttpFailures {

    private HttpFailures() {
    }

    static JobException status(int status, String retryAfter) {
        if (status == 403 || status == 404 || status == 410) {
            return new JobException(JobException.Kind.OUTPUT_GONE,
                    "the output file is no longer available (HTTP " + status + ")");
        }
        if (status == 429 || status == 408 || status >= 500) {
            return new JobException(JobException.Kind.TRANSIENT,
                    "the output host answered HTTP " + status, parseRetryAfter(retryAfter), null);
        }
        return JobException.permanent("the output host refused the download (HTTP " + status + ")");
    }

    static Duration parseRetryAfter(String value) {
        if (value == null) {
            return null;
        }
        try {
            long seconds = Long.parseLong(value.trim());
            return seconds >= 0 ? Duration.ofSeconds(Math.min(seconds, 3600)) : null;
        } catch (NumberFormatException e) {
            return null; // an HTTP-date: the retry policy's own backoff applies
        }
    }

    /** No bytes (headers or body) from {@code shownHost} for {@code readTimeout}. */
    static JobException readTimeout(String shownHost, Duration readTimeout, Throwable cause) {
        return JobException.transientFailure("the output download timed out: no data from '" + shownHost
                + "' for " + readTimeout.toMillis() + " ms", cause);
    }

    /**
     * A failure while connecting ({@code connecting}) or while waiting for or reading the response,
     * as a TRANSIENT {@link JobException}; a {@link JobException} passes through as it is.
     */
    static JobException translate(Throwable failure, String shownHost, boolean connecting, Duration connectTimeout,
            Duration readTimeout) {
        if (failure instanceof JobException je) {
            return je;
        }
        String where = "'" + shownHost + "'";
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof TimeoutException) {
                return connecting
                        ? JobException.transientFailure("could not connect to the output host " + where
                                + " within " + connectTimeout.toMillis() + " ms", failure)
                        : readTimeout(shownHost, readTimeout, failure);
            }
        }
        if (connecting) {
            return JobException.transientFailure("could not connect to the output host " + where, failure);
        }
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof HttpClosedException || t instanceof StreamResetException || t instanceof IOException) {
                return JobException.transientFailure("the connection to the output host " + where
                        + " was closed before the download finished", failure);
            }
        }
        return JobException.transientFailure("the output download from " + where + " failed", failure);
    }
}
