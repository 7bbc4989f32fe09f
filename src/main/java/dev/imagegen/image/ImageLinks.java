package dev.imagegen.image;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.UUID;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import dev.imagegen.config.ImagegenConfig;

/**
 * Signed, expiring links to {@code GET /v1/images/{id}/content}, fetchable with no header (an
 * {@code <img>} tag). The signature is HMAC-SHA256 over {@code <id>.<expires>} with a key derived
 * from the JWT secret; the expiry is rounded up to the hour so that a link stays the same (and
 * cacheable) for a while, and every link lives at least {@code imagegen.api.image-link-ttl}.
 */
@ApplicationScoped
public class ImageLinks {

    private static final long BUCKET_SECONDS = 3600;

    private final byte[] key;
    private final String base;
    private final Duration ttl;
    Clock clock = Clock.systemUTC();

    @Inject
    public ImageLinks(ImagegenConfig config) {
        this.key = derive(config.auth().jwtSecret().orElse("unset"));
        String b = config.publicBaseUrl();
        this.base = b.endsWith("/") ? b.substring(0, b.length() - 1) : b;
        this.ttl = config.api().imageLinkTtl();
    }

    public String url(UUID imageId) {
        long min = Instant.now(clock).plus(ttl).getEpochSecond();
        long expires = ((min + BUCKET_SECONDS - 1) / BUCKET_SECONDS) * BUCKET_SECONDS;
        return base + "/v1/images/" + imageId + "/content?expires=" + expires + "&sig=" + sign(imageId, expires);
    }

    /** Whether {@code sig} is a valid, unexpired signature of this image id. */
    public boolean verify(UUID imageId, String expires, String sig) {
        if (expires == null || sig == null) {
            return false;
        }
        long exp;
        try {
            exp = Long.parseLong(expires);
        } catch (NumberFormatException e) {
            return false;
        }
        if (exp < Instant.now(clock).getEpochSecond()) {
            return false;
        }
        return MessageDigest.isEqual(sign(imageId, exp).getBytes(StandardCharsets.US_ASCII),
                sig.getBytes(StandardCharsets.US_ASCII));
    }

    private String sign(UUID id, long expires) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(hmac(key, id + "." + expires));
    }

    private static byte[] derive(String secret) {
        return hmac(secret.getBytes(StandardCharsets.UTF_8), "imagegen-image-links-v1");
    }

    private static byte[] hmac(byte[] key, String data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
