package dev.imagegen.worker.download;

import dev.imagegen.replicate.JobException;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.core.http.HttpClientRequest;
import java.time.Duration;
import java.util.concurrent.TimeoutException;

/**
 * The read timeout while a body streams (the request's own idle timeout only covers the wait for
 * the response headers): when no chunk arrived for {@code readTimeout}, the request is reset, which
 * fails the body stream. One timer at a time, re-armed for the remaining time.
 */
final class IdleWatch {
    private final Vertx vertx;
    private final HttpClientRequest request;
    private final String shownHost;
    private final Duration readTimeout;
    private final long timeoutNanos;
    private volatile long lastChunk = System.nanoTime();
    private volatile long timerId = -1;
    private volatile boolean stopped;
    private volatile boolean fired;

    IdleWatch(Vertx vertx, HttpClientRequest request, String shownHost, Duration readTimeout) {
        this.vertx = vertx;
        this.request = request;
        this.shownHost = shownHost;
        this.readTimeout = readTimeout;
        this.timeoutNanos = readTimeout.toNanos();
    }

    void start() {
        lastChunk = System.nanoTime();
        arm(timeoutNanos);
    }

    void touch() {
        lastChunk = System.nanoTime();
    }

    void stop() {
        stopped = true;
        long id = timerId;
        if (id >= 0) {
            vertx.cancelTimer(id);
        }
    }

    boolean fired() {
        return fired;
    }

    JobException timeout(Throwable cause) {
        return HttpFailures.readTimeout(shownHost, readTimeout, cause);
    }

    private void arm(long delayNanos) {
        if (!stopped) {
            timerId = vertx.setTimer(Math.max(1, delayNanos / 1_000_000), id -> check());
        }
    }

    private void check() {
        if (stopped) {
            return;
        }
        long idle = System.nanoTime() - lastChunk;
        if (idle >= timeoutNanos) {
            fired = true;
            request.reset(0, new TimeoutException("no data for " + readTimeout.toMillis() + " ms"));
        } else {
            arm(timeoutNanos - idle);
        }
    }
}
