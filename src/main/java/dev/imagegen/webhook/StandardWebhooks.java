package dev.imagegen.webhook;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Standard Webhooks (Svix style) signatures, as Replicate sends them (replicate-api.md §9).
 *
 * <p>The signed content is {@code "{webhook-id}.{webhook-timestamp}.{raw body}"} over the raw body
 * bytes; the key is the base64-decoded part of the secret after {@code whsec_} (a secret without the
 * prefix is decoded whole); the signature is HMAC-SHA256, standard base64, sent as {@code v1,<base64>}.
 * The {@code webhook-signature} header may carry several space-separated entries: one match is enough.
 *
 * <p>Secrets never appear in exceptions or logs.
 */
public final class StandardWebhooks {

    /** The tolerance Replicate's docs use: a timestamp more than 5 minutes off is rejected. */
    public static final Duration DEFAULT_TOLERANCE = Duration.ofMinutes(5);

    public static final String HEADER_ID = "webhook-id";
    public static final String HEADER_TIMESTAMP = "webhook-timestamp";
    public static final String HEADER_SIGNATURE = "webhook-signature";

    private static final String SECRET_PREFIX = "whsec_";
    private static final String HMAC = "HmacSHA256";

    /** The outcome of {@link #verify}. */
    public enum Result {
        /** One of the signatures matches and the timestamp is within tolerance. */
        OK,
        /** {@code webhook-id}, {@code webhook-timestamp} or {@code webhook-signature} is missing or blank. */
        MISSING_HEADERS,
        /** The timestamp is further in the past or the future than the tolerance allows. */
        STALE,
        /** At least one well-formed {@code v1} signature, but none matches. */
        BAD_SIGNATURE,
        /** The timestamp is not a number, or the header holds no well-formed {@code v1,<base64>} entry. */
        MALFORMED;

        public boolean ok() {
            return this == OK;
        }
    }

    private StandardWebhooks() {
    }

    /**
     * Signs a message.
     *
     * @return {@code v1,<base64 HMAC-SHA256>} of {@code "{msgId}.{timestampSeconds}.{body}"}
     * @throws IllegalArgumentException if the secret is not valid base64
     */
    public static String sign(String secret, String msgId, long timestampSeconds, byte[] body) {
        byte[] mac = hmac(key(secret), msgId, Long.toString(timestampSeconds), body);
        return "v1," + Base64.getEncoder().encodeToString(mac);
    }

    /** {@link #verify(String, String, String, String, byte[], Instant, Duration)} with {@link #DEFAULT_TOLERANCE}. */
    public static Result verify(String secret, String msgId, String timestampHeader, String signatureHeader, byte[] rawBody,
            Instant now) {
        return verify(secret, msgId, timestampHeader, signatureHeader, rawBody, now, DEFAULT_TOLERANCE);
    }

    /**
     * Verifies a delivery.
     *
     * @param secret          the {@code whsec_…} signing secret (the prefix is optional)
     * @param msgId           the {@code webhook-id} header
     * @param timestampHeader the {@code webhook-timestamp} header (unix seconds)
     * @param signatureHeader the {@code webhook-signature} header (space-separated {@code v1,<base64>} entries)
     * @param rawBody         the request body exactly as received
     * @param now             the current time
     * @param tolerance       how far the timestamp may be from {@code now}, either way
     * @throws IllegalArgumentException if the secret itself is not valid base64 (a configuration error,
     *                                  not the sender's fault)
     */
    public static Result verify(String secret, String msgId, String timestampHeader, String signatureHeader, byte[] rawBody,
            Instant now, Duration tolerance) {
        if (isBlank(msgId) || isBlank(timestampHeader) || isBlank(signatureHeader) || rawBody == null) {
            return Result.MISSING_HEADERS;
        }
        String timestamp = timestampHeader.trim();
        if (timestamp.length() > 18 || !timestamp.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return Result.MALFORMED;
        }
        long seconds = Long.parseLong(timestamp);
        long drift = Math.abs(now.getEpochSecond() - seconds);
        if (drift > tolerance.toSeconds()) {
            return Result.STALE;
        }
        byte[] expected = hmac(key(secret), msgId, timestamp, rawBody);
        boolean wellFormed = false;
        boolean matched = false;
        for (String entry : signatureHeader.trim().split("\\s+")) {
            int comma = entry.indexOf(',');
            if (comma < 0 || !"v1".equals(entry.substring(0, comma))) {
                continue;
            }
            byte[] candidate;
            try {
                candidate = Base64.getDecoder().decode(entry.substring(comma + 1));
            } catch (IllegalArgumentException e) {
                continue;
            }
            wellFormed = true;
            // No early exit: every entry is compared, each in constant time.
            matched |= MessageDigest.isEqual(expected, candidate);
        }
        if (matched) {
            return Result.OK;
        }
        return wellFormed ? Result.BAD_SIGNATURE : Result.MALFORMED;
    }

    /** A new random secret in the {@code whsec_<base64>} form (24 random bytes), for simulators and tests. */
    public static String newSecret() {
        byte[] key = new byte[24];
        new java.security.SecureRandom().nextBytes(key);
        return SECRET_PREFIX + Base64.getEncoder().encodeToString(key);
    }

    private static byte[] key(String secret) {
        if (secret == null || secret.isBlank()) {
            throw new IllegalArgumentException("webhook signing secret is empty");
        }
        String encoded = secret.trim();
        if (encoded.startsWith(SECRET_PREFIX)) {
            encoded = encoded.substring(SECRET_PREFIX.length());
        }
        byte[] key;
        try {
            key = Base64.getDecoder().decode(encoded);
        } catch (IllegalArgumentException e) {
            // Deliberately without the cause: its message could quote part of the secret.
            throw new IllegalArgumentException("webhook signing secret is not valid base64 (expected whsec_<base64>)");
        }
        if (key.length == 0) {
            throw new IllegalArgumentException("webhook signing secret is empty");
        }
        return key;
    }

    private static byte[] hmac(byte[] key, String msgId, String timestamp, byte[] body) {
        try {
            Mac mac = Mac.getInstance(HMAC);
            mac.init(new SecretKeySpec(key, HMAC));
            mac.update((msgId + "." + timestamp + ".").getBytes(StandardCharsets.UTF_8));
            mac.update(body);
            return mac.doFinal();
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    private static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }
}
