package dev.imagegen.worker.download;

import dev.imagegen.image.ImageProbe;
import dev.imagegen.replicate.JobException;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.buffer.Buffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Counts, hashes (SHA-256), caps and sniffs the bytes of one download on their way to the store, a
 * chunk at a time. Failures: more than {@code maxBytes} (declared or received, PERMANENT as soon as the
 * crossing chunk arrives), fewer bytes than a declared length (TRANSIENT: cut short), nothing at all
 * (PERMANENT). The content type comes from the bytes' magic numbers ({@link ImageProbe}), never from a
 * header or the URL. One inspector per download; not thread-safe (a stream delivers in order).
 */
public final class Inspector {

    private final ImageProbe probe = new ImageProbe();
    private final MessageDigest digest = sha256();
    private final long maxBytes;
    private final Long declaredLength;
    private long size;

    private Inspector(long maxBytes, Long declaredLength) {
        this.maxBytes = maxBytes;
        this.declaredLength = declaredLength;
    }

    /**
     * An inspector for a body of {@code declaredLength} bytes ({@code null}: not declared).
     *
     * @throws JobException PERMANENT when the declared length is already over {@code maxBytes}, so the
     *         body need not be read
     */
    public static Inspector of(long maxBytes, Long declaredLength) {
        if (declaredLength != null && declaredLength > maxBytes) {
            throw tooLarge(maxBytes);
        }
        return new Inspector(maxBytes, declaredLength);
    }

    /** {@code body} with every chunk inspected on its way and the end checked before it completes. */
    public Multi<Buffer> inspect(Multi<Buffer> body) {
        return body
                .onItem().invoke(this::accept)
                .onCompletion().call(this::verifyEnd);
    }

    void accept(Buffer chunk) {
        size += chunk.length();
        if (size > maxBytes) {
            throw tooLarge(maxBytes);
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

    /** Whether enough bytes were seen to name the content type (the head of the body may go on). */
    public boolean contentTypeKnown() {
        return probe.contentTypeKnown();
    }

    public String contentType() {
        return probe.contentType();
    }

    public Integer width() {
        return probe.width();
    }

    public Integer height() {
        return probe.height();
    }

    /** Bytes seen so far. */
    public long size() {
        return size;
    }

    /** Lower-case hex SHA-256 of the bytes seen; call once, at the end. */
    public String sha256Hex() {
        return HexFormat.of().formatHex(digest.digest());
    }

    private static JobException tooLarge(long maxBytes) {
        return JobException.permanent("the output file is larger than the " + maxBytes + "-byte limit");
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
    }
}
