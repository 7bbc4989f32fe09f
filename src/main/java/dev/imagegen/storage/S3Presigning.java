package dev.imagegen.storage;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/**
 * Presigned GET links of the S3 store, computed locally from the cached credentials (no call to S3).
 * Without a presigner there are none, and the caller serves images itself.
 */
final class S3Presigning {

    /** S3's longest presigned URL lifetime (SigV4). */
    static final Duration MAX_PRESIGN_TTL = Duration.ofDays(7);

    private static final Logger LOG = Logger.getLogger(S3ImageStore.class); // the store's log category

    private final S3Presigner presigner;
    private final String bucket;
    private final AtomicLong lastWarning = new AtomicLong();

    /** @param presigner {@code null}: no links */
    S3Presigning(S3Presigner presigner, String bucket) {
        this.presigner = presigner;
        this.bucket = bucket;
    }

    /**
     * {@link #presignedGetUrl}, except that a signing failure (no credentials at the moment) gives an
     * empty result, so that the caller falls back to its own content link rather than failing the
     * request; the failure is logged at most once a minute.
     */
    Optional<String> publicUrl(String key, Duration ttl) {
        if (presigner == null) {
            return Optional.empty();
        }
        try {
            return presignedGetUrl(key, ttl);
        } catch (SdkException e) {
            long now = System.nanoTime();
            long last = lastWarning.get();
            if ((last == 0 || now - last > Duration.ofMinutes(1).toNanos()) && lastWarning.compareAndSet(last, now)) {
                LOG.warnf("cannot presign S3 URLs, image links go through the service: %s", e.getMessage());
            }
            return Optional.empty();
        }
    }

    /**
     * A GET URL for {@code key} valid for {@code ttl} (1 s to 7 days), or empty without a presigner.
     *
     * @throws IllegalArgumentException when the key is not a valid S3 key
     */
    Optional<String> presignedGetUrl(String key, Duration ttl) {
        S3ImageStore.checkKey(key);
        Objects.requireNonNull(ttl, "ttl");
        if (presigner == null) {
            return Optional.empty();
        }
        Duration duration = ttl.compareTo(MAX_PRESIGN_TTL) > 0 ? MAX_PRESIGN_TTL
                : ttl.compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1) : ttl;
        return Optional.of(presigner.presignGetObject(p -> p.signatureDuration(duration)
                .getObjectRequest(r -> r.bucket(bucket).key(key))).url().toExternalForm());
    }
}
