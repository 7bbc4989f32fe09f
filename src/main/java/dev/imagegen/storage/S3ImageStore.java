package dev.imagegen.storage;

import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.buffer.Buffer;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executor;
import mutiny.zero.flow.adapters.AdaptersToFlow;
import org.jboss.logging.Logger;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.core.async.ResponsePublisher;
import software.amazon.awssdk.services.s3.S3AsyncClient;
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
 *
 * <p>The parts: {@link S3Clients} builds the SDK objects, {@link S3MultipartUpload} runs one {@code put},
 * {@link S3Presigning} signs links, {@link S3Async} brings SDK futures back to the caller's context; this
 * class checks keys and ranges and does the reads.
 */
public class S3ImageStore implements ImageStore, AutoCloseable {

    /** S3's smallest part (except the last). */
    public static final int MIN_PART_SIZE = 5 * 1024 * 1024;
    /** Our largest part: two of them are held in memory per upload. */
    public static final int MAX_PART_SIZE = 512 * 1024 * 1024;

    private static final Logger LOG = Logger.getLogger(S3ImageStore.class);
    private static final int MAX_KEY_BYTES = 1024;
    /** Download chunks handed over to a Vert.x context ahead of demand (each at most a socket read). */
    private static final int CONTEXT_HOP_BUFFER = 16;

    private final S3AsyncClient client;
    private final S3Presigning presigning;
    private final String bucket;
    private final int partSize;
    private final List<AutoCloseable> owned;

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
        if (bucket == null || bucket.isBlank()) {
            throw new IllegalArgumentException("the S3 bucket must not be blank");
        }
        this.bucket = bucket.strip();
        if (partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
            throw new IllegalArgumentException("the S3 part size must be between " + MIN_PART_SIZE + " and "
                    + MAX_PART_SIZE + " bytes, not " + partSize);
        }
        this.partSize = partSize;
        this.presigning = new S3Presigning(presigner, this.bucket);
        this.owned = owned;
    }

    /** What {@link #create} needs; {@code credentials} {@code null} means the SDK's default chain. */
    public record Settings(String bucket, String region, Optional<URI> endpoint, boolean pathStyle,
            boolean presign, long partSize, AwsCredentialsProvider credentials) {
    }

    /** Builds the clients from {@code settings} ({@link S3Clients}); {@link #close()} closes them. */
    public static S3ImageStore create(Settings settings) {
        S3Clients.Built built = S3Clients.build(settings);
        return new S3ImageStore(built.client(), built.presigner(), settings.bucket(), (int) settings.partSize(),
                built.owned());
    }

    public String bucket() {
        return bucket;
    }

    public int partSize() {
        return partSize;
    }

    @Override
    public Uni<Long> put(String key, String contentType, Multi<Buffer> body) {
        try {
            checkKey(key);
        } catch (IllegalArgumentException e) {
            return Uni.createFrom().failure(e);
        }
        Objects.requireNonNull(body, "body");
        String type = ContentTypes.sanitize(contentType);
        return Uni.createFrom().deferred(() -> {
            S3MultipartUpload upload = new S3MultipartUpload(client, bucket, partSize, key, type,
                    S3Async.contextExecutor());
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

    @Override
    public Uni<StoredObject> stat(String key) {
        try {
            checkKey(key);
        } catch (IllegalArgumentException e) {
            return Uni.createFrom().failure(e);
        }
        return S3Async.call(() -> client.headObject(r -> r.bucket(bucket).key(key)))
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
            Executor context = S3Async.contextExecutor();
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
        return S3Async.call(() -> client.deleteObject(r -> r.bucket(bucket).key(key)))
                .onFailure(S3ImageStore::isNotFound).recoverWithNull()
                .replaceWithVoid();
    }

    /**
     * A presigned GET URL when presigning is enabled (see {@link #presignedGetUrl}). Should signing fail
     * (no credentials at the moment), this is empty, so that the caller falls back to its own content
     * link rather than failing the request; the failure is logged at most once a minute.
     */
    @Override
    public Optional<String> publicUrl(String key, Duration ttl) {
        return presigning.publicUrl(key, ttl);
    }

    /**
     * A presigned GET URL for {@code key}, valid for {@code ttl} (capped at S3's 7 days), or empty when
     * this store was built without a presigner. Computed locally from the cached credentials.
     */
    public Optional<String> presignedGetUrl(String key, Duration ttl) {
        return presigning.presignedGetUrl(key, ttl);
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

    private static StoredObject toStoredObject(String key, HeadObjectResponse head) {
        String type = head.contentType();
        long size = head.contentLength() == null ? 0 : head.contentLength();
        return new StoredObject(key, size, type == null || type.isBlank() ? ContentTypes.OCTET_STREAM : type);
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

    /** @throws IllegalArgumentException when {@code key} is empty or longer than S3's 1024 UTF-8 bytes */
    static void checkKey(String key) {
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("a storage key must not be empty");
        }
        if (key.getBytes(StandardCharsets.UTF_8).length > MAX_KEY_BYTES) {
            throw new IllegalArgumentException("a storage key must be at most " + MAX_KEY_BYTES + " bytes");
        }
    }
}
