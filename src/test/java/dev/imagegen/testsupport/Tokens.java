package dev.imagegen.testsupport;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import io.smallrye.jwt.build.Jwt;

/** Bearer tokens for tests, signed like Supabase's (HS256 with the shared secret). */
public final class Tokens {

    public static final String SECRET = "test-secret-0123456789-test-secret-0123456789";

    private Tokens() {
    }

    public static String user(String sub) {
        return Jwt.claims().subject(sub).claim("role", "authenticated").issuedAt(Instant.now())
                .expiresAt(Instant.now().plusSeconds(3600)).signWithSecret(SECRET);
    }

    /** Supabase's service-role key: role service_role and no subject. */
    public static String operator() {
        return Jwt.claims().claim("role", "service_role").issuedAt(Instant.now())
                .expiresAt(Instant.now().plusSeconds(3600)).signWithSecret(SECRET);
    }

    public static String bearer(String token) {
        return "Bearer " + token;
    }

    /** A token assembled by hand: any header, any payload, signed with HMAC-SHA256 under {@code secret} (or unsigned). */
    public static String raw(String headerJson, String payloadJson, String secret) {
        Base64.Encoder enc = Base64.getUrlEncoder().withoutPadding();
        String signingInput = enc.encodeToString(headerJson.getBytes(StandardCharsets.UTF_8)) + "."
                + enc.encodeToString(payloadJson.getBytes(StandardCharsets.UTF_8));
        if (secret == null) {
            return signingInput + ".";
        }
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return signingInput + "." + enc.encodeToString(mac.doFinal(signingInput.getBytes(StandardCharsets.US_ASCII)));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public static long inSeconds(long s) {
        return Instant.now().getEpochSecond() + s;
    }
}
