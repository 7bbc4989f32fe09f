package dev.imagegen.storage;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.buffer.Buffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.jboss.logging.Logger;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.s3.model.CompletedMultipartUpload;
import software.amazon.awssdk.services.s3.model.CompletedPart;

/**
 * The state of one {@link S3ImageStore#put}: fills one part buffer of {@code partSize} bytes from the
 * body. A body that ends before the buffer is full is sent with one PutObject. Otherwise a multipart
 * upload is created and each full buffer becomes one UploadPart; the next buffer fills while the previous
 * part uploads, and {@link #accept} does not complete until that upload has finished, so at most two parts
 * are held in memory whatever the object's size. {@link #finish} sends the last part and completes the
 * upload; {@link #abort} (after a failure or a cancellation) aborts it once any part in flight has
 * settled. Its methods run one at a time (each waits for the previous).
 */
final class S3MultipartUpload {

    /** S3's limit of parts per upload. */
    static final int MAX_PARTS = 10_000;

    /** The store's log category, as before the split. */
    private static final Logger LOG = Logger.getLogger(S3ImageStore.class);

    private final S3AsyncClient client;
    private final String bucket;
    private final int partSize;
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

    S3MultipartUpload(S3AsyncClient client, String bucket, int partSize, String key, String contentType,
            Executor context) {
        this.client = client;
        this.bucket = bucket;
        this.partSize = partSize;
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
        return S3Async.fromFuture(call, context);
    }
}
