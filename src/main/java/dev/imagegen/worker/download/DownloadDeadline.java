package dev.imagegen.worker.download;

import dev.imagegen.replicate.JobException;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.core.http.HttpClientRequest;
import java.time.Duration;
import java.util.concurrent.TimeoutException;

/**
 * The overall deadline of one download: one timer from the start; when it fires, the request in
 * flight (or the next one, after a redirect) is reset, which fails the body stream like the idle
 * timeout does.
 */
public final class DownloadDeadline {
    private final Vertx vertx;
    private final Duration limit;
    private final String shownHost;
    private final long timerId;
    private volatile HttpClientRequest current;
    private volatile boolean fired;

    DownloadDeadline(Vertx vertx, Duration limit, String shownHost) {
        this.vertx = vertx;
        this.limit = limit;
        this.shownHost = shownHost;
        this.timerId = vertx.setTimer(Math.max(1, limit.toMillis()), id -> fire());
    }

    void attach(HttpClientRequest request) {
        current = request;
        if (fired) {
            request.reset(0, new TimeoutException("download deadline passed"));
        }
    }

    private void fire() {
        fired = true;
        HttpClientRequest request = current;
        if (request != null) {
            request.reset(0, new TimeoutException("download deadline passed"));
        }
    }

    boolean fired() {
        return fired;
    }

    void stop() {
        vertx.cancelTimer(timerId);
    }

    JobException failure(Throwable cause) {
        return JobException.transientFailure("the output download from '" + shownHost
                + "' took longer than its " + human(limit) + " deadline", cause);
    }

    /** "2 minutes", "90 s", "1500 ms": whole minutes, else whole seconds, else milliseconds. */
    public static String human(Duration d) {
        if (d.toSeconds() % 60 == 0 && d.toMinutes() > 0) {
            return d.toMinutes() + " minute" + (d.toMinutes() == 1 ? "" : "s");
        }
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }
}
