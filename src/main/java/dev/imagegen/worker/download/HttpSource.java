package dev.imagegen.worker.download;

import dev.imagegen.replicate.JobException;
import dev.imagegen.worker.download.UrlPolicy.Target;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.core.http.HttpClient;
import io.vertx.mutiny.core.http.HttpClientRequest;
import io.vertx.mutiny.core.http.HttpClientResponse;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Objects;

/**
 * GETs a checked {@link Target} and hands a 200's body, as a back-pressured {@link Multi}, to a
 * {@link BodyHandler} while the request is still open. On the way:
 * <ul>
 *   <li>Redirects (301, 302, 303, 307, 308) are followed by hand, at most {@value #MAX_REDIRECTS}
 *       times, and each {@code Location} goes through the {@link UrlPolicy} before it is requested.</li>
 *   <li>Any other status than 200 becomes a {@link JobException} ({@link HttpFailures#status}).</li>
 *   <li>No connection within the connect timeout (pool wait included), no bytes for
 *       {@code readTimeout} (headers or body), a reset or an early close: TRANSIENT.</li>
 *   <li>A download still running at its overall deadline, when one is given: TRANSIENT.</li>
 * </ul>
 * Whenever the handler's {@code Uni} fails or is cancelled the request is reset, so its connection is
 * never reused half-read. One {@link HttpClient} is shared by all fetches; {@link #close()} it when done.
 */
public final class HttpSource {

    public static final int DEFAULT_POOL_SIZE = 64;
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
    public static final int MAX_REDIRECTS = 3;

    /** Consumes a 200's body. */
    @FunctionalInterface
    public interface BodyHandler<T> {
        /**
         * @param declaredLength the {@code Content-Length}, {@code null} when absent or unreadable
         * @param body the body, to be subscribed once; failures are already {@link JobException}s
         */
        Uni<T> handle(Long declaredLength, Multi<Buffer> body);
    }

    private final Vertx vertx;
    private final UrlPolicy policy;
    private final Duration readTimeout;
    private final Duration connectTimeout;
    private final HttpClient client;

    /**
     * @param readTimeout a download that receives nothing for this long fails (transient)
     * @param connectTimeout getting a connection (pool wait, TCP and TLS) must not take longer
     * @param poolSize connections kept per host
     */
    public HttpSource(Vertx vertx, UrlPolicy policy, Duration readTimeout, Duration connectTimeout, int poolSize) {
        this.vertx = Objects.requireNonNull(vertx, "vertx");
        this.policy = Objects.requireNonNull(policy, "policy");
        this.readTimeout = requirePositive(readTimeout, "readTimeout");
        this.connectTimeout = requirePositive(connectTimeout, "connectTimeout");
        if (poolSize < 1) {
            throw new IllegalArgumentException("poolSize must be at least 1");
        }
        HttpClientOptions options = new HttpClientOptions()
                .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis()))
                .setKeepAlive(true)
                .setKeepAliveTimeout(30)
                .setDecompressionSupported(false)
                .setVerifyHost(true);
        this.client = vertx.createHttpClient(options, new PoolOptions().setHttp1MaxSize(poolSize));
    }

    /**
     * Fetches {@code target} and hands its body to {@code handler}, within {@code deadline} (null:
     * none) counted from now, redirects included: the idle timeout alone would let a host that drips a
     * byte now and then hold a worker slot forever. Past it the request is reset and the fetch fails
     * TRANSIENT saying it ran past the deadline. Call at subscription time (inside a deferred).
     */
    public <T> Uni<T> fetch(Target target, Duration deadline, BodyHandler<T> handler) {
        if (deadline == null) {
            return fetch(target, handler, 0, null);
        }
        DownloadDeadline watch = new DownloadDeadline(vertx, requirePositive(deadline, "deadline"), target.shownHost());
        return fetch(target, handler, 0, watch)
                .onFailure().transform(e -> watch.fired() ? watch.failure(e) : e)
                .onTermination().invoke(watch::stop);
    }

    /** Closes the shared HTTP client. */
    public Uni<Void> close() {
        return client.close();
    }

    private <T> Uni<T> fetch(Target target, BodyHandler<T> handler, int redirects, DownloadDeadline deadline) {
        RequestOptions options = new RequestOptions()
                .setMethod(HttpMethod.GET)
                .setHost(target.host())
                .setPort(target.port())
                .setSsl(target.ssl())
                .setURI(target.requestUri())
                .setFollowRedirects(false)
                .setConnectTimeout(connectTimeout.toMillis())
                .setIdleTimeout(readTimeout.toMillis())
                .putHeader("Accept", "image/*, */*;q=0.5")
                .putHeader("Accept-Encoding", "identity")
                .putHeader("User-Agent", "imagegen-queue");
        return client.request(options)
                .onFailure().transform(e -> translate(e, target, true))
                .chain(request -> sendWithin(request, deadline)
                        .onFailure().transform(e -> translate(e, target, false))
                        .chain(response -> onResponse(target, handler, redirects, request, response, deadline))
                        .onFailure().invoke(e -> request.reset())
                        .onCancellation().invoke(() -> request.reset()));
    }

    private static Uni<HttpClientResponse> sendWithin(HttpClientRequest request, DownloadDeadline deadline) {
        if (deadline != null) {
            deadline.attach(request);
        }
        return request.send();
    }

    private <T> Uni<T> onResponse(Target target, BodyHandler<T> handler, int redirects, HttpClientRequest request,
            HttpClientResponse response, DownloadDeadline deadline) {
        // Resetting the request (below, or on any later failure) reports the reset to the response as
        // well; without a handler Vert.x would log it as an unhandled error. The body stream, when
        // subscribed, installs its own handler.
        response.exceptionHandler(ignored -> { });
        int status = response.statusCode();
        if (status == 200) {
            Long declared = contentLength(response);
            IdleWatch watch = new IdleWatch(vertx, request, target.shownHost(), readTimeout);
            Multi<Buffer> body = response.toMulti()
                    .onSubscription().invoke(watch::start)
                    .onItem().invoke(watch::touch)
                    .onTermination().invoke(watch::stop)
                    .onFailure().transform(e -> watch.fired() ? watch.timeout(e) : translate(e, target, false));
            return handler.handle(declared, body);
        }
        request.reset(); // the body is not wanted: do not leave it in the connection
        if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
            String location = response.getHeader("Location");
            if (location == null || location.isBlank()) {
                throw JobException.permanent("the output host answered a redirect (HTTP " + status + ") without a location");
            }
            if (redirects >= MAX_REDIRECTS) {
                throw JobException.permanent("the output download was redirected more than " + MAX_REDIRECTS + " times");
            }
            URI next;
            try {
                next = target.uri().resolve(new URI(location.strip()));
            } catch (URISyntaxException | IllegalArgumentException e) {
                throw JobException.permanent("the output host redirected to an invalid URL");
            }
            return fetch(policy.check(next), handler, redirects + 1, deadline);
        }
        throw HttpFailures.status(status, response.getHeader("Retry-After"));
    }

    private JobException translate(Throwable failure, Target target, boolean connecting) {
        return HttpFailures.translate(failure, target.shownHost(), connecting, connectTimeout, readTimeout);
    }

    private static Long contentLength(HttpClientResponse response) {
        String value = response.getHeader("Content-Length");
        if (value == null) {
            return null;
        }
        try {
            long n = Long.parseLong(value.trim());
            return n >= 0 ? n : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    static Duration requirePositive(Duration d, String name) {
        Objects.requireNonNull(d, name);
        if (d.isZero() || d.isNegative()) {
            throw new IllegalArgumentException(name + " must be positive");
        }
        return d;
    }
}
