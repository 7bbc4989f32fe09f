package dev.imagegen.storage;

import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.core.Context;
import io.vertx.mutiny.core.buffer.Buffer;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import mutiny.zero.flow.adapters.AdaptersToFlow;
import org.jboss.logging.Logger;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.core.async.ResponsePublisher;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3AsyncClientBuilder;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.s3.model.CompletedMultipartUpload;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/**
 * {@link ImageStore} on an S3 bucket (AWS, or any S3-compatible service), through the AWS SDK v2
 * <b>asynchronous</b> client.
 *
 * <p><b>Why this client.</b> {@link S3AsyncClient} on the SDK's Netty HTTP client
 * ({@code netty-nio-client}): it never blocks a calling thread on I/O, honours Reactive Streams demand
 * on downloads (a slow reader stops the socket reads instead of filling memory), is pure Java (no JNI,
 * native-image friendly) and runs on the Netty that Vert.x already brings. The CRT-based clients ship
 * native libraries, and the CRT S3 client decides part buffering and parallelism by itself, whereas this
 * store needs to bound memory and abort on failure explicitly. The Quarkiverse {@code quarkus-amazon-s3}
 * extension would add a second configuration surface ({@code quarkus.s3.*}) and, here, the CRT client
 * too (its Netty module does not resolve), for nothing this class needs.
 *
 * <p><b>Uploads.</b> {@link #put} fills one part buffer of {@code partSize} bytes from the body. A body
 * that ends before the buffer is full is sent with one PutObject. Otherwise a multipart upload is
 * created and each full buffer becomes one UploadPart; the next buffer fills while the previous part
 * uploads, and the body is not pulled further until that upload has finished, so at most two parts are
 * held in memory whatever the object's size. The last part is sent when the body completes, then
 * CompleteMultipartUpload makes the object visible at once. If the body fails, an S3 call fails, or the
 * {@code put} is cancelled, the upload is aborted (after any part in flight has settled) and nothing
 * becomes visible; the returned {@code Uni} fails with the original error. A bucket lifecycle rule
 * "AbortIncompleteMultipartUpload" remains the backstop for a process killed mid-upload.
 *
 * <p><b>Reads</b> are ranged GetObjects whose body publisher is adapted to a back-pressured {@link Multi}.
 *
 * <p><b>Threads.</b> When a call is made on a Vert.x context (an event loop or a worker of Quarkus),
 * its results and items are delivered back on that context, as the filesystem store does; otherwise on
 * the SDK's own threads. SDK calls never wait on I/O; credentials are refreshed ahead of expiry in the
 * background ({@code asyncCredentialUpdateEnabled}), so no request waits on a refresh either.
 *
 * <p>Keys are used as given (they are built from ids only); a {@code null}, empty or over-long key
 * (more than 1024 UTF-8 bytes) is refused with an {@link IllegalArgumentException}.
 */
public class S3ImageStore implements ImageStore, AutoCloseable {

    /** S3's smallest part (except the last). */
    public static final int MIN_PART_SIZE = 5 * 1024 * 1024;
    /** Our largest part: two of them are held in memory per upload. */
    public static final int MAX_PART_SIZE = 512 * 1024 * 1024;
    /** S3's limit of parts per upload. */
    static final int MAX_PARTS = 10_000;
    /** S3's longest presigned URL lifetime (SigV4). */
    static final Duration MAX_PRESIGN_TTL = Duration.ofDays(7);

    private static final Logger LOG = Logger.getLogger(S3ImageStore.class);
    private static final int MAX_KEY_BYTES = 1024;
    private static final String OCTET_STREAM = "application/octet-stream";
    /** Download chunks handed over to a Vert.x context ahead of demand (each at most a socket read). */
    private static final int CONTEXT_HOP_BUFFER = 16;

    private final S3AsyncClient client;
    private final S3Presigner presigner;
    private final String bucket;
    private final int partSize;
    private final List<AutoCloseable> owned;
    private final AtomicLong lastPresignWarning = new AtomicLong();

    /**
     * A store on clients the caller built (and closes).
     *
     * @param presigner signs {@link #publicUrl} links; {@code null}: the store gives none
     * @param partSize multipart part size, {@link #MIN_PART_SIZE} to {@link #MAX_PART_SIZE} bytes
     */
    public S3ImageStore(S3AsyncClient client, S3Presigner presigner, String bucket, int partSize) {
        this(client, presigner, bucket, partSize, List.of());
    }

    private S3ImageStore(S3AsyncClient client, S3Presigner presigner, String bucket, int partSize,
            List<AutoCloseable> owned) {
        this.client = Objects.requireNonNull(client, "client");
        this.presigner = presigner;
        if (bucket == null || bucket.isBlank()) {
            throw new IllegalArgumentException("the S3 bucket must not be blank");
        }
        this.bucket = bucket.strip();
        if (partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
            throw new IllegalArgumentException("the S3 part size must be between " + MIN_PART_SIZE + " and "
                    + MAX_PART_SIZE + " bytes, not " + partSize);
        }
        this.partSize = partSize;
        this.owned = owned;
    }

    /** What {@link #create} needs; {@code credentials} {@code null} means the SDK's default chain. */
    public record Settings(String bucket, String region, Optional<URI> endpoint, boolean pathStyle,
            boolean presign, long partSize, AwsCredentialsProvider credentials) {
    }

    /** Builds the clients from {@code settings}; {@link #close()} closes them. */
    public static S3ImageStore create(Settings settings) {
        Objects.requireNonNull(settings, "settings");
        if (settings.partSize() < MIN_PART_SIZE || settings.partSize() > MAX_PART_SIZE) {
            throw new IllegalArgumentException("IMAGEGEN_STORAGE_S3_PART_SIZE must be between 5M and 512M, not "
                    + settings.partSize() + " bytes");
        }
        if (settings.region() == null || settings.region().isBlank()) {
            throw new IllegalArgumentException("IMAGEGEN_STORAGE_S3_REGION must not be blank");
        }
        settings.endpoint().ifPresent(uri -> {
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(java.util.Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
                throw new IllegalArgumentException("IMAGEGEN_STORAGE_S3_ENDPOINT must be an http(s) URL such as "
                        + "https://minio.example.com:9000, not '" + uri + "'");
            }
        });
        AwsCredentialsProvider credentials = settings.credentials();
        DefaultCredentialsProvider chain = null;
        if (credentials == null) {
            chain = DefaultCredentialsProvider.builder().asyncCredentialUpdateEnabled(true).build();
            credentials = chain;
            // Resolve once now, on the starting thread: the first lookup may call an STS, container or
            // instance endpoint, and from then on refreshes happen in the background.
            try {
                chain.resolveCredentials();
            } catch (RuntimeException e) {
                LOG.warnf("no AWS credentials found yet (S3 calls will fail until there are): %s", e.getMessage());
            }
        }
        Region region = Region.of(settings.region().strip());
        S3AsyncClientBuilder builder = S3AsyncClient.builder()
                .region(region)
                .credentialsProvider(credentials)
                .forcePathStyle(settings.pathStyle())
                // Closed with the S3 client. 64 connections: one upload per job in flight (32 by default)
                // plus image reads; a call that finds none free within 10 s fails (a transient error).
                .httpClientBuilder(NettyNioAsyncHttpClient.builder()
                        .maxConcurrency(64)
                        .connectionAcquisitionTimeout(Duration.ofSeconds(10)));
        settings.endpoint().ifPresent(builder::endpointOverride);
        S3AsyncClient client = builder.build();

        S3Presigner presigner = null;
        if (settings.presign()) {
            S3Presigner.Builder presign = S3Presigner.builder()
                    .region(region)
                    .credentialsProvider(credentials)
                    .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(settings.pathStyle()).build());
            settings.endpoint().ifPresent(presign::endpointOverride);
            presigner = presign.build();
        }
        // Closed in this order by close().
        List<AutoCloseable> owned = new ArrayList<>();
        owned.add(client);
        if (presigner != null) {
            owned.add(presigner);
        }
        if (chain != null) {
            owned.add(chain);
        }
        return new S3ImageStore(client, presigner, settings.bucket(), (int) settings.partSize(), List.copyOf(owned));
    }

    public String bucket() {
        return bucket;
    }

    public int partSize() {
        return partSize;
    }

    // ---------------------------------------------------------------- put

    @Override
    public Uni<Long> put(String key, String contentType, Multi<Buffer> body) {
        try {
            checkKey(key);
        } catch (IllegalArgumentException e) {
            return Uni.createFrom().failure(e);
        }
        Objects.requireNonNull(body, "body");
        String type = sanitizeContentType(contentType);
        return Uni.createFrom().deferred(() -> {
            Upload upload = new Upload(key, type, contextExecutor());
            return body
                    // One chunk at a time: the next chunk is requested once this one is copied and, when
                    // it filled a part, once the previous part's upload is done.
                    .onItem().transformToUniAndConcatenate(upload::accept)
                    .onItem().ignoreAsUni()
                    .chain(upload::finish)
                    .onFailure().call(upload::abort)
                    .onCancellation().call(upload::abort);
        });
    }

    /** The state of one {@link #put}; its methods run one at a time (each waits for the previous). */
    private final class Upload {
        private final String key;
        private final String contentType;
        private final Executor context;
        private final List<CompletedPart> parts = new ArrayList<>();
        private byte[] buffer;
        private int filled;
        private long total;
        /** CreateMultipartUpload, once sent; never cancelled, so an abort always learns the upload id. */
        private volatile CompletableFuture<String> created;
        /** The part being uploaded, if any; never cancelled, so an abort can wait for it. */
        private volatile CompletableFuture<CompletedPart> inFlight;
        private volatile boolean aborted;

        Upload(String key, String contentType, Executor context) {
            this.key = key;
            this.contentType = contentType;
            this.context = context;
        }

        Uni<Void> accept(Buffer chunk) {
            return fill(chunk, 0);
        }

        private Uni<Void> fill(Buffer chunk, int from) {
            int length = chunk.length();
            if (from >= length) {
                return Uni.createFrom().voidItem();
            }
            if (buffer == null) {
                buffer = new byte[partSize];
            }
            int n = Math.min(length - from, partSize - filled);
            chunk.getDelegate().getBytes(from, from + n, buffer, filled);
            filled += n;
            total += n;
            if (filled < partSize) {
                return Uni.createFrom().voidItem();
            }
            byte[] full = buffer;
            buffer = null;
            filled = 0;
            int next = from + n;
            return sendPart(full, partSize).chain(() -> fill(chunk, next));
        }

        /** Waits for the previous part, then starts uploading this one and returns without waiting for it. */
        private Uni<Void> sendPart(byte[] bytes, int length) {
            return awaitInFlight()
                    .chain(this::uploadId)
                    .invoke(uploadId -> {
                        int partNumber = parts.size() + 1;
                        if (partNumber > MAX_PARTS) {
                            throw new IllegalStateException("the object exceeds " + MAX_PARTS + " parts of "
                                    + partSize + " bytes: raise IMAGEGEN_STORAGE_S3_PART_SIZE");
                        }
                        PartBody partBody = new PartBody(bytes, length);
                        inFlight = client.uploadPart(
                                        r -> r.bucket(bucket).key(key).uploadId(uploadId).partNumber(partNumber)
                                                .contentLength((long) length).checksumAlgorithm(ChecksumAlgorithm.CRC32),
                                        partBody)
                                .whenComplete((response, failure) -> partBody.release())
                                .thenApply(response -> CompletedPart.builder()
                                        .partNumber(partNumber)
                                        .eTag(response.eTag())
                                        .checksumCRC32(response.checksumCRC32())
                                        .checksumCRC32C(response.checksumCRC32C())
                                        .checksumCRC64NVME(response.checksumCRC64NVME())
                                        .checksumSHA1(response.checksumSHA1())
                                        .checksumSHA256(response.checksumSHA256())
                                        .build());
                    })
                    .replaceWithVoid();
        }

        private Uni<Void> awaitInFlight() {
            if (inFlight == null) {
                return Uni.createFrom().voidItem();
            }
            CompletableFuture<CompletedPart> part = inFlight;
            return fromFuture(() -> part)
                    .invoke(completed -> {
                        parts.add(completed);
                        inFlight = null;
                    })
                    .replaceWithVoid();
        }

        private Uni<String> uploadId() {
            if (created == null) {
                // Each part carries a CRC32 that S3 checks, and the completion lists them (what the SDK's
                // transfer manager does too).
                created = client.createMultipartUpload(r -> r.bucket(bucket).key(key).contentType(contentType)
                                .checksumAlgorithm(ChecksumAlgorithm.CRC32))
                        .thenApply(response -> response.uploadId());
            }
            CompletableFuture<String> id = created;
            return fromFuture(() -> id);
        }

        Uni<Long> finish() {
            if (created == null) {
                // The whole body fitted in less than one part: one PutObject, no multipart upload.
                int length = filled;
                PartBody body = new PartBody(buffer == null ? new byte[0] : buffer, length);
                buffer = null;
                return fromFuture(() -> client.putObject(
                                        r -> r.bucket(bucket).key(key).contentType(contentType).contentLength((long) length),
                                        body)
                                .whenComplete((response, failure) -> body.release()))
                        .replaceWith(total);
            }
            // At least one full part went before; what is left (maybe nothing) is the last part.
            Uni<Void> last = Uni.createFrom().voidItem();
            if (filled > 0) {
                byte[] rest = buffer;
                int length = filled;
                buffer = null;
                filled = 0;
                last = sendPart(rest, length);
            }
            return last
                    .chain(this::awaitInFlight)
                    .chain(this::uploadId)
                    .chain(uploadId -> fromFuture(() -> client.completeMultipartUpload(r -> r.bucket(bucket).key(key)
                            .uploadId(uploadId)
                            .multipartUpload(CompletedMultipartUpload.builder().parts(List.copyOf(parts)).build()))))
                    .replaceWith(total);
        }

        /** Aborts the multipart upload, if one was started, once any part in flight has settled. */
        Uni<Void> abort() {
            buffer = null;
            if (created == null || aborted) {
                return Uni.createFrom().voidItem();
            }
            aborted = true;
            CompletableFuture<String> id = created;
            CompletableFuture<?> part = inFlight == null ? CompletableFuture.completedFuture(null) : inFlight;
            CompletableFuture<Void> done = part.handle((ignored, failure) -> null)
                    .thenCompose(ignored -> id)
                    .thenCompose(uploadId -> client.abortMultipartUpload(r -> r.bucket(bucket).key(key).uploadId(uploadId)))
                    .handle((ignored, failure) -> {
                        if (failure != null && created.isDone() && !created.isCompletedExceptionally()) {
                            LOG.warnf("could not abort the multipart upload of %s (a lifecycle rule will): %s",
                                    key, failure.toString());
                        }
                        return null;
                    });
            return fromFuture(() -> done);
        }

        private <T> Uni<T> fromFuture(Supplier<CompletableFuture<T>> call) {
            return S3ImageStore.this.fromFuture(call, context);
        }
    }

    /**
     * One part's bytes, given to the SDK without copying and released as soon as the part's upload has
     * settled. The SDK may keep a finished request, and with it its body, referenced for a while (by a
     * pooled connection); releasing the array keeps what each upload holds to the two parts it is working
     * on. Each subscription (the SDK resubscribes on a retry) gets the whole part once, then completes.
     */
    private static final class PartBody implements AsyncRequestBody {
        private final long length;
        private volatile ByteBuffer bytes;

        PartBody(byte[] bytes, int length) {
            this.bytes = ByteBuffer.wrap(bytes, 0, length);
            this.length = length;
        }

        void release() {
            bytes = null;
        }

        @Override
        public Optional<Long> contentLength() {
            return Optional.of(length);
        }

        @Override
        public void subscribe(Subscriber<? super ByteBuffer> subscriber) {
            ByteBuffer source = bytes;
            AtomicReference<ByteBuffer> pending = new AtomicReference<>(source == null ? null : source.duplicate());
            subscriber.onSubscribe(new Subscription() {
                @Override
                public void request(long n) {
                    if (n <= 0) {
                        if (pending.getAndSet(null) != null) {
                            subscriber.onError(new IllegalArgumentException("non-positive request: " + n));
                        }
                        return;
                    }
                    ByteBuffer next = pending.getAndSet(null);
                    if (next != null) {
                        subscriber.onNext(next);
                        subscriber.onComplete();
                    }
                }

                @Override
                public void cancel() {
                    pending.set(null);
                }
            });
            if (source == null) {
                subscriber.onError(new IllegalStateException("the part was already released"));
            }
        }
    }

    // ---------------------------------------------------------------- stat, read, delete

    @Override
    public Uni<StoredObject> stat(String key) {
        try {
            checkKey(key);
        } catch (IllegalArgumentException e) {
            return Uni.createFrom().failure(e);
        }
        return Uni.createFrom().deferred(() -> fromFuture(
                        () -> client.headObject(r -> r.bucket(bucket).key(key)), contextExecutor()))
                .map(head -> toStoredObject(key, head))
                .onFailure(S3ImageStore::isNotFound).recoverWithNull();
    }

    @Override
    public Multi<Buffer> read(String key, long offset, long length) {
        try {
            checkKey(key);
        } catch (IllegalArgumentException e) {
            return Multi.createFrom().failure(e);
        }
        if (offset < 0 || length < 0 || offset > Long.MAX_VALUE - length) {
            return Multi.createFrom().failure(new IllegalArgumentException(
                    "invalid range: offset " + offset + ", length " + length));
        }
        if (length == 0) {
            return Multi.createFrom().empty();
        }
        String range = "bytes=" + offset + "-" + (offset + length - 1);
        return Multi.createFrom().deferred(() -> {
            Executor context = contextExecutor();
            Multi<Buffer> bytes = Uni.createFrom()
                    .completionStage(() -> client.getObject(r -> r.bucket(bucket).key(key).range(range),
                            AsyncResponseTransformer.<GetObjectResponse>toPublisher()))
                    .onItem().transformToMulti((ResponsePublisher<GetObjectResponse> publisher) ->
                            Multi.createFrom().publisher(AdaptersToFlow.publisher(publisher)))
                    .map(S3ImageStore::toBuffer);
            return context == null ? bytes : bytes.emitOn(context, CONTEXT_HOP_BUFFER);
        });
    }

    @Override
    public Uni<Void> delete(String key) {
        try {
            checkKey(key);
        } catch (IllegalArgumentException e) {
            return Uni.createFrom().failure(e);
        }
        // S3 answers 204 whether or not the key existed.
        return Uni.createFrom().deferred(() -> fromFuture(
                        () -> client.deleteObject(r -> r.bucket(bucket).key(key)), contextExecutor()))
                .onFailure(S3ImageStore::isNotFound).recoverWithNull()
                .replaceWithVoid();
    }

    // ---------------------------------------------------------------- presigned URLs

    /**
     * A presigned GET URL when presigning is enabled (see {@link #presignedGetUrl}). Should signing fail
     * (no credentials at the moment), this is empty, so that the caller falls back to its own content
     * link rather than failing the request; the failure is logged at most once a minute.
     */
    @Override
    public Optional<String> publicUrl(String key, Duration ttl) {
        if (presigner == null) {
            return Optional.empty();
        }
        try {
            return presignedGetUrl(key, ttl);
        } catch (SdkException e) {
            long now = System.nanoTime();
            long last = lastPresignWarning.get();
            if ((last == 0 || now - last > Duration.ofMinutes(1).toNanos()) && lastPresignWarning.compareAndSet(last, now)) {
                LOG.warnf("cannot presign S3 URLs, image links go through the service: %s", e.getMessage());
            }
            return Optional.empty();
        }
    }

    /**
     * A presigned GET URL for {@code key}, valid for {@code ttl} (capped at S3's 7 days), or empty when
     * this store was built without a presigner. Computed locally from the cached credentials.
     */
    public Optional<String> presignedGetUrl(String key, Duration ttl) {
        checkKey(key);
        Objects.requireNonNull(ttl, "ttl");
        if (presigner == null) {
            return Optional.empty();
        }
        Duration duration = ttl.compareTo(MAX_PRESIGN_TTL) > 0 ? MAX_PRESIGN_TTL
                : ttl.compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1) : ttl;
        return Optional.of(presigner.presignGetObject(p -> p.signatureDuration(duration)
                .getObjectRequest(r -> r.bucket(bucket).key(key))).url().toExternalForm());
    }

    /** Closes the clients this store built (none when it was given them). */
    @Override
    public void close() {
        for (AutoCloseable c : owned) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.debugf("closing %s failed: %s", c.getClass().getSimpleName(), e.toString());
            }
        }
    }

    // ---------------------------------------------------------------- helpers

    /**
     * Calls the SDK, adapting its future to a {@code Uni} whose result is delivered on {@code context}
     * when there is one. Cancelling the {@code Uni} does not cancel the SDK call (S3 may already have
     * acted on it); the caller's own clean-up deals with its outcome.
     */
    private <T> Uni<T> fromFuture(Supplier<CompletableFuture<T>> call, Executor context) {
        Uni<T> uni = Uni.createFrom().completionStage(() -> call.get().thenApply(x -> x));
        return context == null ? uni : uni.emitOn(context);
    }

    /** Runs on the Vert.x context of the calling thread, if it has one. */
    private static Executor contextExecutor() {
        Context context = io.vertx.core.Vertx.currentContext();
        return context == null ? null : task -> context.runOnContext(ignored -> task.run());
    }

    private static StoredObject toStoredObject(String key, HeadObjectResponse head) {
        String type = head.contentType();
        long size = head.contentLength() == null ? 0 : head.contentLength();
        return new StoredObject(key, size, type == null || type.isBlank() ? OCTET_STREAM : type);
    }

    private static Buffer toBuffer(ByteBuffer bytes) {
        byte[] copy = new byte[bytes.remaining()];
        bytes.get(copy);
        return Buffer.buffer(copy);
    }

    private static boolean isNotFound(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof NoSuchKeyException || t instanceof S3Exception s3 && s3.statusCode() == 404) {
                return true;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }

    private static void checkKey(String key) {
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("a storage key must not be empty");
        }
        if (key.getBytes(StandardCharsets.UTF_8).length > MAX_KEY_BYTES) {
            throw new IllegalArgumentException("a storage key must be at most " + MAX_KEY_BYTES + " bytes");
        }
    }

    private static String sanitizeContentType(String contentType) {
        if (contentType == null || contentType.isBlank() || contentType.length() > 255) {
            return OCTET_STREAM;
        }
        for (int i = 0; i < contentType.length(); i++) {
            char c = contentType.charAt(i);
            if (c < 0x20 || c > 0x7e) {
                return OCTET_STREAM;
            }
        }
        return contentType.trim();
    }
}
