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
 *
 * <p>The same key and scheme sign links to other resources ({@link #signedQuery(String, UUID, Duration)}):
 * their signed text starts with a scope ({@code events:<id>.<expires>}), so that a link to one kind of
 * resource can never be replayed against another.
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
        long expires = expiry(ttl);
        return absolute("/v1/images/" + imageId + "/content?expires=" + expires + "&sig=" + sign("", imageId, expires));
    }

    /** Whether {@code sig} is a valid, unexpired signature of this image id. */
    public boolean verify(UUID imageId, String expires, String sig) {
        return verify("", imageId, expires, sig);
    }

    /**
     * {@code expires=…&sig=…} for a link to another kind of resource ({@code scope}, e.g. {@code events})
     * bound to {@code id}, valid at least {@code validity} (rounded up to the hour, as image links).
     */
    public String signedQuery(String scope, UUID id, Duration validity) {
        long expires = expiry(validity);
        return "expires=" + expires + "&sig=" + sign(scoped(scope), id, expires);
    }

    /** Whether {@code sig} is a valid, unexpired signature of {@code id} in {@code scope}. */
    public boolean verify(String scope, UUID id, String expires, String sig) {
        if (expires == null || sig == null || expires.length() > 19 || sig.length() > 64) {
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
        return MessageDigest.isEqual(sign(scoped(scope), id, exp).getBytes(StandardCharsets.US_ASCII),
                sig.getBytes(StandardCharsets.US_ASCII));
    }

    /** This service's external URL followed by {@code pathAndQuery}. */
    public String absolute(String pathAndQuery) {
        return base + pathAndQuery;
    }

    private long expiry(Duration validity) {
        long min = Instant.now(clock).plus(validity).getEpochSecond();
        return ((min + BUCKET_SECONDS - 1) / BUCKET_SECONDS) * BUCKET_SECONDS;
    }

    /** Image links sign {@code <id>.<expires>} as they always have; other scopes prefix {@code <scope>:}. */
    private static String scoped(String scope) {
        return scope.isEmpty() ? "" : scope + ":";
    }

    private String sign(String prefix, UUID id, long expires) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(hmac(key, prefix + id + "." + expires));
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
