package dev.imagegen.worker;

import dev.imagegen.replicate.JobException;
import dev.imagegen.storage.ImageStore;
import dev.imagegen.worker.download.DataUriSource;
import dev.imagegen.worker.download.HeadSplitter;
import dev.imagegen.worker.download.HttpSource;
import dev.imagegen.worker.download.Inspector;
import dev.imagegen.worker.download.UrlPolicy;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.core.buffer.Buffer;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Copies one prediction output (an {@code http(s)} URL or a {@code data:} URI) into the
 * {@link ImageStore}, streaming: the body goes to {@link ImageStore#put} as a back-pressured
 * {@link Multi} and, on its way, is hashed, counted, capped at {@code maxBytes} and sniffed. Memory does
 * not grow with the file's size. Each failure is a {@link JobException} whose kind tells the queue what
 * to do. The parts, in {@code worker.download}:
 * <ul>
 *   <li>{@link UrlPolicy}: allowed hosts and schemes, checked before any connection (PERMANENT).</li>
 *   <li>{@link HttpSource}: the GET, redirects, status and connection failures, idle timeout and
 *       overall deadline.</li>
 *   <li>{@link DataUriSource}: {@code data:} URIs decoded a chunk at a time.</li>
 *   <li>{@link Inspector}: size cap, SHA-256, content type from the magic bytes (never from the URL or
 *       headers), short and empty bodies.</li>
 *   <li>{@link HeadSplitter}: holds back the first chunks only until the type is known, so that the
 *       store is given it before the body.</li>
 * </ul>
 * A failure of the store itself is TRANSIENT. On every failure the store's {@code put} removes its
 * temporary data, so nothing is stored under the key, and the HTTP request is reset so its connection
 * is not reused half-read. Call {@link #close()} when done.
 */
public class OutputDownloader {

    public static final int DEFAULT_POOL_SIZE = HttpSource.DEFAULT_POOL_SIZE;
    public static final Duration DEFAULT_CONNECT_TIMEOUT = HttpSource.DEFAULT_CONNECT_TIMEOUT;
    static final int MAX_REDIRECTS = HttpSource.MAX_REDIRECTS;

    private final ImageStore store;
    private final UrlPolicy policy;
    private final long maxBytes;
    private final HttpSource http;

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
        Objects.requireNonNull(vertx, "vertx");
        this.store = Objects.requireNonNull(store, "store");
        this.policy = new UrlPolicy(allowedHosts);
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("maxBytes must be positive");
        }
        this.maxBytes = maxBytes;
        this.http = new HttpSource(vertx, policy, readTimeout, connectTimeout, poolSize);
    }

    /** The normalised allow-list in use. */
    public List<String> allowedHosts() {
        return policy.allowedHosts();
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
     * first connection attempt, redirects included (see {@link HttpSource#fetch}). Past it the download
     * fails TRANSIENT and the store drops its temporary data. A {@code data:} URI has no deadline.
     */
    public Uni<StoredImage> download(String url, String key, Duration deadline) {
        return Uni.createFrom().deferred(() -> {
            if (url == null || url.isBlank()) {
                return Uni.createFrom().failure(JobException.permanent("the prediction returned an empty output URL"));
            }
            String trimmed = url.strip();
            if (DataUriSource.isDataUri(trimmed)) {
                return store(key, DataUriSource.open(trimmed), Inspector.of(maxBytes, null));
            }
            return http.fetch(policy.check(trimmed), deadline,
                    (declared, body) -> store(key, body, Inspector.of(maxBytes, declared)));
        });
    }

    /** Closes the shared HTTP client. */
    public Uni<Void> close() {
        return http.close();
    }

    UrlPolicy.Target checkUrl(String url) {
        return policy.check(url);
    }

    boolean isAllowedHost(String host) {
        return policy.isAllowedHost(host);
    }

    static boolean isLoopback(String host) {
        return UrlPolicy.isLoopback(host);
    }

    private Uni<StoredImage> store(String key, Multi<Buffer> source, Inspector inspector) {
        return HeadSplitter.split(inspector.inspect(source), inspector::contentTypeKnown)
                .chain(split -> store.put(key, inspector.contentType(), split.body())
                        .onFailure(e -> !(e instanceof JobException)).transform(OutputDownloader::storeFailure))
                .map(written -> new StoredImage(key, inspector.contentType(), inspector.size(), inspector.width(),
                        inspector.height(), inspector.sha256Hex()));
    }

    private static JobException storeFailure(Throwable failure) {
        if (failure instanceof IllegalArgumentException) {
            return new JobException(JobException.Kind.PERMANENT, "the output could not be stored: invalid key", failure);
        }
        return JobException.transientFailure("the output image could not be stored", failure);
    }
}
