package dev.imagegen.worker;

import dev.imagegen.image.ImageProbe;
import dev.imagegen.replicate.JobException;
import dev.imagegen.storage.ImageStore;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.UniEmitter;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.StreamResetException;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.core.http.HttpClient;
import io.vertx.mutiny.core.http.HttpClientRequest;
import io.vertx.mutiny.core.http.HttpClientResponse;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Copies one prediction output (an {@code http(s)} URL or a {@code data:} URI) into the
 * {@link ImageStore}, streaming: the body goes to {@link ImageStore#put} as a back-pressured
 * {@link Multi} and, on its way, is hashed (SHA-256), counted, capped at {@code maxBytes} and sniffed
 * by an {@link ImageProbe}. Memory does not grow with the file's size.
 *
 * <p>Rules, and the {@link JobException.Kind} each failure maps to:
 * <ul>
 *   <li>The URL's host must equal an allowed host or be a subdomain of one (case-insensitive), and
 *       the scheme must be {@code https}, or {@code http} for a loopback host ({@code localhost},
 *       {@code 127.0.0.0/8}, {@code ::1}). Otherwise PERMANENT, checked before any connection is
 *       made: a disallowed host is never contacted. URLs with user-info are refused too.</li>
 *   <li>Redirects (301, 302, 303, 307, 308) are followed by hand, at most {@value #MAX_REDIRECTS}
 *       times, and each {@code Location} goes through the same host and scheme checks before it is
 *       requested; a redirect to a disallowed target is PERMANENT.</li>
 *   <li>200 is streamed. 403, 404, 410: OUTPUT_GONE (Replicate removes outputs after an hour).
 *       408, 429, 5xx: TRANSIENT (429 carries {@code Retry-After} seconds when given). Any other
 *       status: PERMANENT.</li>
 *   <li>A {@code Content-Length} over {@code maxBytes} is refused before reading the body; a body
 *       that goes past {@code maxBytes} fails as soon as the byte that crosses it arrives
 *       (PERMANENT "larger than the N-byte limit"). Data URIs are held to the same limit, counted on
 *       decoded bytes.</li>
 *   <li>No connection within the connect timeout, no bytes for {@code readTimeout} (headers or
 *       body), a reset or early close, or fewer bytes than {@code Content-Length}: TRANSIENT. An
 *       empty body: PERMANENT.</li>
 *   <li>A download still running at its overall deadline (when one is given): TRANSIENT.</li>
 *   <li>A failure of the store itself is TRANSIENT.</li>
 * </ul>
 * On every failure the store's {@code put} removes its temporary data, so nothing is stored under
 * the key, and the HTTP request is reset so its connection is not reused half-read.
 *
 * <p>The content type recorded (and given to the store) comes from the file's magic bytes, never
 * from the URL or response headers: the first chunks are held back only until the probe has seen
 * the 12 bytes it needs to decide, then the body is passed on.
 *
 * <p>One {@link HttpClient} is shared by all downloads ({@link #DEFAULT_POOL_SIZE} connections per
 * host by default); a request that cannot get a connection within the connect timeout (including
 * waiting for a pool slot) fails as TRANSIENT. Call {@link #close()} when done.
 */
public class OutputDownloader {

    public static final int DEFAULT_POOL_SIZE = 64;
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
    static final int MAX_REDIRECTS = 3;

    private static final int DATA_URI_CHUNK_CHARS = 64 * 1024;
    private static final int MAX_DATA_URI_HEADER = 256;
    private static final Pattern IPV4_LOOPBACK = Pattern.compile("127\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");

    private final Vertx vertx;
    private final ImageStore store;
    private final List<String> allowedHosts;
    private final long maxBytes;
    private final Duration readTimeout;
    private final Duration connectTimeout;
    private final HttpClient client;

    public OutputDownloader(Vertx vertx, ImageStore store, List<String> allowedHosts, long maxBytes,
            Duration readTimeout) {
        this(vertx, store, allowedHosts, maxBytes, readTimeout, DEFAULT_CONNECT_TIMEOUT, DEFAULT_POOL_SIZE);
    }

    /**
     * @param allowedHosts hosts outputs may come from; each also allows its subdomains
     * @param maxBytes largest file accepted
     * @param readTimeout a download that receives nothing for this long fails (transient)
     * @param connectTimeout getting a connection (pool wait, TCP and TLS) must not take longer
     * @param poolSize connections kept per host
     */
    public OutputDownloader(Vertx vertx, ImageStore store, List<String> allowedHosts, long maxBytes,
            Duration readTimeout, Duration connectTimeout, int poolSize) {
        this.vertx = Objects.requireNonNull(vertx, "vertx");
        this.store = Objects.requireNonNull(store, "store");
        this.allowedHosts = normalizeAllowList(Objects.requireNonNull(allowedHosts, "allowedHosts"));
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("maxBytes must be positive");
        }
        this.maxBytes = maxBytes;
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

    /** The normalised allow-list in use. */
    public List<String> allowedHosts() {
        return allowedHosts;
    }

    /**
     * Downloads {@code url} (http(s) or {@code data:}) into the store under {@code key} (used as is).
     * Fails with a {@link JobException} whose kind says what the queue should do.
     */
    public Uni<StoredImage> download(String url, String key) {
        return download(url, key, null);
    }

    /**
     * {@link #download(String, String)} within an overall {@code deadline} (null: none) counted from the
     * first connection attempt, redirects included: the idle timeout alone would let a host that drips a
     * byte now and then hold a worker slot forever. Past it the request is reset, the store drops its
     * temporary data, and the download fails TRANSIENT saying it ran past the deadline.
     */
    public Uni<StoredImage> download(String url, String key, Duration deadline) {
        return Uni.createFrom().deferred(() -> {
            if (url == null || url.isBlank()) {
                return Uni.createFrom().failure(JobException.permanent("the prediction returned an empty output URL"));
            }
            String trimmed = url.strip();
            if (trimmed.regionMatches(true, 0, "data:", 0, 5)) {
                return fromDataUri(trimmed, key);
            }
            Target target = checkUrl(trimmed);
            if (deadline == null) {
                return fetch(target, key, 0, null);
            }
            Deadline watch = new Deadline(requirePositive(deadline, "deadline"), target.host());
            return fetch(target, key, 0, watch)
                    .onFailure().transform(e -> watch.fired() ? watch.failure(e) : e)
                    .onTermination().invoke(watch::stop);
        });
    }

    /** Closes the shared HTTP client. */
    public Uni<Void> close() {
        return client.close();
    }

    // ---------------------------------------------------------------- URL checks

    /** A checked request target. */
    record Target(URI uri, String host, int port, boolean ssl, String requestUri) {
    }

    /**
     * Parses and checks {@code url} against the allow-list and the scheme rule.
     *
     * @throws JobException PERMANENT when the URL may not be fetched
     */
    Target checkUrl(String url) {
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw JobException.permanent("the output URL is not a valid URL");
        }
        return checkUri(uri);
    }

    private Target checkUri(URI uri) {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("https") && !scheme.equals("http")) {
            throw JobException.permanent("the output URL scheme '" + printable(scheme) + "' is not supported: use https");
        }
        if (uri.getRawUserInfo() != null) {
            throw JobException.permanent("output URLs with credentials are not allowed");
        }
        String host = normalizeHost(uri.getHost());
        if (host.isEmpty()) {
            throw JobException.permanent("the output URL has no valid host");
        }
        if (!isAllowedHost(host)) {
            throw JobException.permanent("the output host '" + printable(host) + "' is not in the allowed output hosts");
        }
        boolean ssl = scheme.equals("https");
        if (!ssl && !isLoopback(host)) {
            throw JobException.permanent("the output host '" + printable(host) + "' must be fetched over https");
        }
        int port = uri.getPort() == -1 ? (ssl ? 443 : 80) : uri.getPort();
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        String requestUri = uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery();
        return new Target(uri, host, port, ssl, requestUri);
    }

    boolean isAllowedHost(String host) {
        for (String allowed : allowedHosts) {
            if (host.equals(allowed) || host.endsWith("." + allowed)) {
                return true;
            }
        }
        return false;
    }

    /** Loopback by name or literal only: never a DNS lookup. */
    static boolean isLoopback(String host) {
        if (host.equals("localhost")) {
            return true;
        }
        Matcher m = IPV4_LOOPBACK.matcher(host);
        if (m.matches()) {
            for (int i = 1; i <= 3; i++) {
                if (Integer.parseInt(m.group(i)) > 255) {
                    return false;
                }
            }
            return true;
        }
        if (host.indexOf(':') >= 0) {
            // An IPv6 literal (a host name cannot hold ':'), so this parses without any lookup.
            try {
                return InetAddress.getByName(host).isLoopbackAddress();
            } catch (UnknownHostException e) {
                return false;
            }
        }
        return false;
    }

    private static String normalizeHost(String host) {
        if (host == null) {
            return "";
        }
        String h = host.trim().toLowerCase(Locale.ROOT);
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        while (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        return h;
    }

    private static List<String> normalizeAllowList(List<String> hosts) {
        List<String> result = new ArrayList<>();
        for (String entry : hosts) {
            if (entry == null) {
                continue;
            }
            String h = normalizeHost(entry);
            while (h.startsWith("*.") || h.startsWith(".")) {
                h = h.substring(h.charAt(0) == '*' ? 2 : 1);
            }
            if (!h.isEmpty() && !result.contains(h)) {
                result.add(h);
            }
        }
        return List.copyOf(result);
    }

    // ---------------------------------------------------------------- HTTP

    private Uni<StoredImage> fetch(Target target, String key, int redirects, Deadline deadline) {
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
                .onFailure().transform(e -> translate(e, target.host(), true))
                .chain(request -> sendWithin(request, deadline)
                        .onFailure().transform(e -> translate(e, target.host(), false))
                        .chain(response -> onResponse(target, key, redirects, request, response, deadline))
                        .onFailure().invoke(e -> request.reset())
                        .onCancellation().invoke(() -> request.reset()));
    }

    private static Uni<HttpClientResponse> sendWithin(HttpClientRequest request, Deadline deadline) {
        if (deadline != null) {
            deadline.attach(request);
        }
        return request.send();
    }

    private Uni<StoredImage> onResponse(Target target, String key, int redirects, HttpClientRequest request,
            HttpClientResponse response, Deadline deadline) {
        // Resetting the request (below, or on any later failure) reports the reset to the response as
        // well; without a handler Vert.x would log it as an unhandled error. The body stream, when
        // subscribed, installs its own handler.
        response.exceptionHandler(ignored -> { });
        int status = response.statusCode();
        if (status == 200) {
            Long declared = contentLength(response);
            if (declared != null && declared > maxBytes) {
                throw tooLarge();
            }
            Inspector inspector = new Inspector(declared);
            IdleWatch watch = new IdleWatch(request, target.host());
            Multi<Buffer> body = response.toMulti()
                    .onSubscription().invoke(watch::start)
                    .onItem().invoke(watch::touch)
                    .onTermination().invoke(watch::stop)
                    .onFailure().transform(e -> watch.fired() ? watch.timeout(e) : translate(e, target.host(), false));
            return store(key, body, inspector);
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
            return fetch(checkUri(next), key, redirects + 1, deadline);
        }
        throw statusFailure(status, response.getHeader("Retry-After"));
    }

    /**
     * The read timeout while the body streams (the request's own idle timeout only covers the wait
     * for the response headers): when no chunk arrived for {@code readTimeout}, the request is reset,
     * which fails the body stream. One timer at a time, re-armed for the remaining time.
     */
    private final class IdleWatch {
        private final HttpClientRequest request;
        private final String host;
        private final long timeoutNanos = readTimeout.toNanos();
        private volatile long lastChunk = System.nanoTime();
        private volatile long timerId = -1;
        private volatile boolean stopped;
        private volatile boolean fired;

        IdleWatch(HttpClientRequest request, String host) {
            this.request = request;
            this.host = host;
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
            return JobException.transientFailure("the output download timed out: no data from '" + printable(host)
                    + "' for " + readTimeout.toMillis() + " ms", cause);
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

    /**
     * The overall deadline of one download: one timer from the start; when it fires, the request in
     * flight (or the next one, after a redirect) is reset, which fails the body stream like the idle
     * timeout does.
     */
    private final class Deadline {
        private final Duration limit;
        private final String host;
        private final long timerId;
        private volatile HttpClientRequest current;
        private volatile boolean fired;

        Deadline(Duration limit, String host) {
            this.limit = limit;
            this.host = host;
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
            return JobException.transientFailure("the output download from '" + printable(host)
                    + "' took longer than its " + GenerateImageHandler.human(limit) + " deadline", cause);
        }
    }

    static JobException statusFailure(int status, String retryAfter) {
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

    private static Duration parseRetryAfter(String value) {
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

    private JobException translate(Throwable failure, String host, boolean connecting) {
        if (failure instanceof JobException je) {
            return je;
        }
        String where = "'" + printable(host) + "'";
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof TimeoutException) {
                return connecting
                        ? JobException.transientFailure("could not connect to the output host " + where
                                + " within " + connectTimeout.toMillis() + " ms", failure)
                        : JobException.transientFailure("the output download timed out: no data from " + where
                                + " for " + readTimeout.toMillis() + " ms", failure);
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

    // ---------------------------------------------------------------- data: URIs

    private Uni<StoredImage> fromDataUri(String uri, String key) {
        int comma = uri.indexOf(',');
        if (comma < 0 || comma > MAX_DATA_URI_HEADER) {
            return Uni.createFrom().failure(JobException.permanent("the output data URI is malformed"));
        }
        String header = uri.substring(5, comma).toLowerCase(Locale.ROOT);
        boolean base64 = header.endsWith(";base64");
        DataDecoder decoder = base64
                ? new Base64Decoder(uri, comma + 1)
                : new PercentDecoder(uri, comma + 1);
        // One chunk per request: the generator is called only when downstream asks for more.
        Multi<Buffer> body = Multi.createFrom().generator(() -> decoder, (d, emitter) -> {
            try {
                Buffer chunk = d.next();
                if (chunk == null) {
                    emitter.complete();
                } else {
                    emitter.emit(chunk);
                }
            } catch (JobException e) {
                emitter.fail(e);
            }
            return d;
        });
        return store(key, body, new Inspector(null));
    }

    /** Decodes a data URI's payload a chunk at a time, straight from the URI string. */
    private abstract static class DataDecoder {
        final String source;
        int position;

        DataDecoder(String source, int start) {
            this.source = source;
            this.position = start;
        }

        /** The next decoded chunk, or {@code null} at the end. */
        abstract Buffer next();
    }

    private static final class Base64Decoder extends DataDecoder {
        private final byte[] carry = new byte[4];
        private int carryLength;

        Base64Decoder(String source, int start) {
            super(source, start);
        }

        @Override
        Buffer next() {
            int end = source.length();
            while (position < end || carryLength > 0) {
                int stop = Math.min(end, position + DATA_URI_CHUNK_CHARS);
                byte[] in = new byte[carryLength + (stop - position)];
                System.arraycopy(carry, 0, in, 0, carryLength);
                int n = carryLength;
                int i = position;
                while (i < stop) {
                    char c = source.charAt(i++);
                    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                        continue;
                    }
                    if (c == '%') {
                        // percent-encoded padding ("%3D") is the only escape base64 needs
                        if (!source.regionMatches(true, i, "3D", 0, 2)) {
                            throw JobException.permanent("the output data URI is not valid base64");
                        }
                        c = '=';
                        i += 2;
                    } else if (c == '-') {
                        c = '+';
                    } else if (c == '_') {
                        c = '/';
                    }
                    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                            || c == '+' || c == '/' || c == '=')) {
                        throw JobException.permanent("the output data URI is not valid base64");
                    }
                    in[n++] = (byte) c;
                }
                position = i;
                int usable = position >= end ? n : n - n % 4;
                carryLength = n - usable;
                System.arraycopy(in, usable, carry, 0, carryLength);
                if (usable == 0) {
                    if (position >= end) {
                        carryLength = 0;
                        return null;
                    }
                    continue;
                }
                try {
                    byte[] decoded = Base64.getDecoder().decode(usable == in.length ? in : Arrays.copyOf(in, usable));
                    if (decoded.length == 0) {
                        continue;
                    }
                    return Buffer.buffer(decoded);
                } catch (IllegalArgumentException e) {
                    throw JobException.permanent("the output data URI is not valid base64");
                }
            }
            return null;
        }
    }

    private static final class PercentDecoder extends DataDecoder {
        PercentDecoder(String source, int start) {
            super(source, start);
        }

        @Override
        Buffer next() {
            int end = source.length();
            if (position >= end) {
                return null;
            }
            int stop = Math.min(end, position + DATA_URI_CHUNK_CHARS);
            byte[] out = new byte[stop - position];
            int n = 0;
            int i = position;
            while (i < stop) {
                char c = source.charAt(i);
                if (c == '%') {
                    if (i + 2 >= end) {
                        throw JobException.permanent("the output data URI has a bad percent escape");
                    }
                    int hi = Character.digit(source.charAt(i + 1), 16);
                    int lo = Character.digit(source.charAt(i + 2), 16);
                    if (hi < 0 || lo < 0) {
                        throw JobException.permanent("the output data URI has a bad percent escape");
                    }
                    out[n++] = (byte) ((hi << 4) | lo);
                    i += 3;
                } else if (c > 0xff) {
                    throw JobException.permanent("the output data URI holds a character that is not a byte");
                } else {
                    out[n++] = (byte) c;
                    i++;
                }
            }
            position = i;
            return Buffer.buffer(Arrays.copyOf(out, n));
        }
    }

    // ---------------------------------------------------------------- streaming into the store

    private Uni<StoredImage> store(String key, Multi<Buffer> source, Inspector inspector) {
        Multi<Buffer> checked = source
                .onItem().invoke(inspector::accept)
                .onCompletion().call(inspector::verifyEnd);
        return HeadSplitter.split(checked, inspector.probe::contentTypeKnown)
                .chain(split -> store.put(key, inspector.probe.contentType(), split.body())
                        .onFailure(e -> !(e instanceof JobException)).transform(OutputDownloader::storeFailure))
                .map(written -> inspector.result(key));
    }

    private static JobException storeFailure(Throwable failure) {
        if (failure instanceof IllegalArgumentException) {
            return new JobException(JobException.Kind.PERMANENT, "the output could not be stored: invalid key", failure);
        }
        return JobException.transientFailure("the output image could not be stored", failure);
    }

    private JobException tooLarge() {
        return JobException.permanent("the output file is larger than the " + maxBytes + "-byte limit");
    }

    /** Counts, hashes, caps and sniffs the bytes on their way to the store. */
    private final class Inspector {
        final ImageProbe probe = new ImageProbe();
        private final MessageDigest digest = sha256();
        private final Long declaredLength;
        private long size;

        Inspector(Long declaredLength) {
            this.declaredLength = declaredLength;
        }

        void accept(Buffer chunk) {
            size += chunk.length();
            if (size > maxBytes) {
                throw tooLarge();
            }
            byte[] bytes = chunk.getBytes(); // one chunk at a time: bounded
            digest.update(bytes);
            if (!probe.done()) {
                probe.feed(bytes);
            }
        }

        Uni<Void> verifyEnd() {
            probe.end();
            if (declaredLength != null && size != declaredLength) {
                return Uni.createFrom().failure(JobException.transientFailure(
                        "the output download was cut short: received " + size + " of " + declaredLength + " bytes",
                        null));
            }
            if (size == 0) {
                return Uni.createFrom().failure(JobException.permanent("the output file is empty"));
            }
            return Uni.createFrom().voidItem();
        }

        StoredImage result(String key) {
            return new StoredImage(key, probe.contentType(), size, probe.width(), probe.height(),
                    HexFormat.of().formatHex(digest.digest()));
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
    }

    /** The first chunks of a body (until its type is known) and a stream of the rest. */
    record Split(List<Buffer> head, Multi<Buffer> rest) {
        Multi<Buffer> body() {
            return head.isEmpty()
                    ? rest
                    : Multi.createBy().concatenating().streams(Multi.createFrom().iterable(head), rest);
        }
    }

    /**
     * Subscribes to a body, pulls chunks one at a time until {@code headComplete} says enough was
     * seen (or the body ends), then hands over those chunks plus a single-use {@link Multi} that
     * continues the same subscription with the caller's own demand. Holds at most the few chunks of
     * the head.
     */
    static final class HeadSplitter implements Flow.Subscriber<Buffer> {
        private final BooleanSupplier headComplete;
        private final List<Buffer> head = new ArrayList<>();
        private UniEmitter<? super Split> emitter;
        private volatile Flow.Subscription upstream;

        // guarded by this
        private boolean headDone;
        private Flow.Subscriber<? super Buffer> downstream;
        private boolean subscribing;
        private boolean terminated;
        private Throwable failure;
        private boolean terminalDelivered;

        private HeadSplitter(BooleanSupplier headComplete) {
            this.headComplete = headComplete;
        }

        static Uni<Split> split(Multi<Buffer> source, BooleanSupplier headComplete) {
            HeadSplitter splitter = new HeadSplitter(headComplete);
            return Uni.createFrom().<Split>emitter(e -> {
                splitter.emitter = e;
                source.subscribe().withSubscriber(splitter);
            }).onCancellation().invoke(splitter::cancelUpstream);
        }

        private void cancelUpstream() {
            Flow.Subscription s = upstream;
            if (s != null) {
                s.cancel();
            }
        }

        @Override
        public void onSubscribe(Flow.Subscription subscription) {
            upstream = subscription;
            subscription.request(1);
        }

        @Override
        public void onNext(Buffer item) {
            Flow.Subscriber<? super Buffer> target;
            boolean emitHead = false;
            boolean needMore = false;
            synchronized (this) {
                if (!headDone) {
                    head.add(item);
                    if (headComplete.getAsBoolean()) {
                        headDone = true;
                        emitHead = true;
                    } else {
                        needMore = true;
                    }
                    target = null;
                } else {
                    target = downstream;
                }
            }
            if (emitHead) {
                emitter.complete(new Split(List.copyOf(head), rest()));
            } else if (needMore) {
                upstream.request(1);
            } else if (target != null) {
                target.onNext(item);
            }
        }

        @Override
        public void onError(Throwable throwable) {
            terminate(throwable);
        }

        @Override
        public void onComplete() {
            terminate(null);
        }

        private void terminate(Throwable error) {
            Flow.Subscriber<? super Buffer> target = null;
            boolean emitHead = false;
            synchronized (this) {
                if (terminated) {
                    return;
                }
                terminated = true;
                failure = error;
                if (!headDone) {
                    headDone = true;
                    emitHead = true;
                } else if (downstream != null && !subscribing && !terminalDelivered) {
                    terminalDelivered = true;
                    target = downstream;
                }
            }
            if (emitHead) {
                if (error != null) {
                    emitter.fail(error);
                } else {
                    emitter.complete(new Split(List.copyOf(head), rest()));
                }
            } else if (target != null) {
                deliverTerminal(target, error);
            }
        }

        private static void deliverTerminal(Flow.Subscriber<? super Buffer> target, Throwable error) {
            if (error != null) {
                target.onError(error);
            } else {
                target.onComplete();
            }
        }

        private Multi<Buffer> rest() {
            Flow.Publisher<Buffer> publisher = this::subscribeRest;
            return Multi.createFrom().publisher(publisher);
        }

        private void subscribeRest(Flow.Subscriber<? super Buffer> subscriber) {
            synchronized (this) {
                if (downstream != null) {
                    subscriber.onSubscribe(NoopSubscription.INSTANCE);
                    subscriber.onError(new IllegalStateException("the body can be consumed only once"));
                    return;
                }
                downstream = subscriber;
                subscribing = true;
            }
            subscriber.onSubscribe(new Flow.Subscription() {
                @Override
                public void request(long n) {
                    boolean done;
                    synchronized (HeadSplitter.this) {
                        done = terminated;
                    }
                    if (!done) {
                        upstream.request(n);
                    }
                }

                @Override
                public void cancel() {
                    upstream.cancel();
                }
            });
            boolean deliver;
            Throwable error;
            synchronized (this) {
                subscribing = false;
                deliver = terminated && !terminalDelivered;
                if (deliver) {
                    terminalDelivered = true;
                }
                error = failure;
            }
            if (deliver) {
                deliverTerminal(subscriber, error);
            }
        }
    }

    private enum NoopSubscription implements Flow.Subscription {
        INSTANCE;

        @Override
        public void request(long n) {
        }

        @Override
        public void cancel() {
        }
    }

    // ---------------------------------------------------------------- helpers

    private static Duration requirePositive(Duration d, String name) {
        Objects.requireNonNull(d, name);
        if (d.isZero() || d.isNegative()) {
            throw new IllegalArgumentException(name + " must be positive");
        }
        return d;
    }

    private static String printable(String s) {
        StringBuilder sb = new StringBuilder(Math.min(s.length(), 100));
        for (int i = 0; i < s.length() && i < 100; i++) {
            char c = s.charAt(i);
            sb.append(c < 0x20 || c > 0x7e ? '?' : c);
        }
        return sb.toString();
    }
}
