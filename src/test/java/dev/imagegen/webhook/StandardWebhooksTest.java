package dev.imagegen.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;

import org.junit.jupiter.api.Test;

import dev.imagegen.webhook.StandardWebhooks.Result;

class StandardWebhooksTest {

    /** The example secret from Replicate's docs (replicate-api.md §9). */
    private static final String SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    private static final String OTHER_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private static final String MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private static final long TS = 1_700_000_000L;
    private static final Instant NOW = Instant.ofEpochSecond(TS);
    private static final byte[] BODY = "{\"id\":\"azaq55dbukgxg6kubr4k6g3pby\",\"status\":\"succeeded\"}"
            .getBytes(StandardCharsets.UTF_8);

    @Test
    void signsAsStandardWebhooksDoes() {
        // Known answer, computed with Python's hmac module over "{id}.{timestamp}.{body}".
        String signature = StandardWebhooks.sign(SECRET, MSG_ID, TS, BODY);
        assertEquals("v1,AUNpywfu6HnsNWwLr1zAaHfx8ibOBE5YBnrZ7qb/aps=", signature);
        assertEquals(Result.OK, verify(SECRET, String.valueOf(TS), signature, BODY));
    }

    @Test
    void matchesAnIndependentHmac() throws Exception {
        javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
        mac.init(new javax.crypto.spec.SecretKeySpec(java.util.Base64.getDecoder().decode("C2FVsBQIhrscChlQIMV+b5sSYspob7oD"),
                "HmacSHA256"));
        byte[] expected = mac.doFinal((MSG_ID + "." + TS + "." + new String(BODY, StandardCharsets.UTF_8))
                .getBytes(StandardCharsets.UTF_8));
        assertEquals("v1," + java.util.Base64.getEncoder().encodeToString(expected), StandardWebhooks.sign(SECRET, MSG_ID, TS, BODY));
    }

    @Test
    void acceptsSecretWithoutPrefix() {
        String signature = StandardWebhooks.sign(SECRET, MSG_ID, TS, BODY);
        assertEquals(Result.OK, verify("C2FVsBQIhrscChlQIMV+b5sSYspob7oD", String.valueOf(TS), signature, BODY));
        assertEquals(signature, StandardWebhooks.sign("C2FVsBQIhrscChlQIMV+b5sSYspob7oD", MSG_ID, TS, BODY));
    }

    @Test
    void acceptsWhenAnyOfSeveralSignaturesMatches() {
        String good = StandardWebhooks.sign(SECRET, MSG_ID, TS, BODY);
        String wrong = StandardWebhooks.sign(OTHER_SECRET, MSG_ID, TS, BODY);
        assertEquals(Result.OK, verify(SECRET, String.valueOf(TS), wrong + " " + good, BODY));
        assertEquals(Result.OK, verify(SECRET, String.valueOf(TS), "v1a,abcd " + wrong + "  " + good + " v2,zzz", BODY));
    }

    @Test
    void rejectsSignatureMadeWithAnotherSecret() {
        String signature = StandardWebhooks.sign(OTHER_SECRET, MSG_ID, TS, BODY);
        assertEquals(Result.BAD_SIGNATURE, verify(SECRET, String.valueOf(TS), signature, BODY));
    }

    @Test
    void rejectsTamperedBodyIdOrTimestamp() {
        String signature = StandardWebhooks.sign(SECRET, MSG_ID, TS, BODY);
        byte[] tampered = BODY.clone();
        tampered[tampered.length - 3] ^= 1;
        assertEquals(Result.BAD_SIGNATURE, verify(SECRET, String.valueOf(TS), signature, tampered));
        assertEquals(Result.BAD_SIGNATURE, StandardWebhooks.verify(SECRET, "msg_other", String.valueOf(TS), signature, BODY, NOW));
        assertEquals(Result.BAD_SIGNATURE, verify(SECRET, String.valueOf(TS + 1), signature, BODY));
    }

    @Test
    void verifiesRawBytesNotReencodedText() {
        byte[] latin = "{\"prompt\":\"caf\u00e9\"}".getBytes(StandardCharsets.UTF_8);
        String signature = StandardWebhooks.sign(SECRET, MSG_ID, TS, latin);
        assertEquals(Result.OK, verify(SECRET, String.valueOf(TS), signature, latin));
        byte[] reencoded = "{\"prompt\":\"caf\u00e9\"}".getBytes(StandardCharsets.ISO_8859_1);
        assertEquals(Result.BAD_SIGNATURE, verify(SECRET, String.valueOf(TS), signature, reencoded));
    }

    @Test
    void rejectsStaleAndFutureTimestamps() {
        long old = TS - Duration.ofMinutes(5).toSeconds() - 1;
        long future = TS + Duration.ofMinutes(5).toSeconds() + 1;
        assertEquals(Result.STALE, verify(SECRET, String.valueOf(old), StandardWebhooks.sign(SECRET, MSG_ID, old, BODY), BODY));
        assertEquals(Result.STALE,
                verify(SECRET, String.valueOf(future), StandardWebhooks.sign(SECRET, MSG_ID, future, BODY), BODY));
    }

    @Test
    void acceptsTimestampsJustInsideTheTolerance() {
        long edge = TS - Duration.ofMinutes(5).toSeconds();
        assertEquals(Result.OK, verify(SECRET, String.valueOf(edge), StandardWebhooks.sign(SECRET, MSG_ID, edge, BODY), BODY));
        long custom = TS - 30;
        assertEquals(Result.STALE, StandardWebhooks.verify(SECRET, MSG_ID, String.valueOf(custom),
                StandardWebhooks.sign(SECRET, MSG_ID, custom, BODY), BODY, NOW, Duration.ofSeconds(10)));
    }

    @Test
    void reportsMissingHeaders() {
        String signature = StandardWebhooks.sign(SECRET, MSG_ID, TS, BODY);
        assertEquals(Result.MISSING_HEADERS, StandardWebhooks.verify(SECRET, null, String.valueOf(TS), signature, BODY, NOW));
        assertEquals(Result.MISSING_HEADERS, StandardWebhooks.verify(SECRET, MSG_ID, "", signature, BODY, NOW));
        assertEquals(Result.MISSING_HEADERS, StandardWebhooks.verify(SECRET, MSG_ID, String.valueOf(TS), null, BODY, NOW));
        assertEquals(Result.MISSING_HEADERS, StandardWebhooks.verify(SECRET, MSG_ID, String.valueOf(TS), "  ", BODY, NOW));
    }

    @Test
    void reportsGarbageSignaturesAsMalformed() {
        assertEquals(Result.MALFORMED, verify(SECRET, String.valueOf(TS), "v1,!!!not-base64!!!", BODY));
        assertEquals(Result.MALFORMED, verify(SECRET, String.valueOf(TS), "garbage", BODY));
        assertEquals(Result.MALFORMED, verify(SECRET, String.valueOf(TS), "v2,c2lnbmF0dXJl", BODY));
        // one garbage entry does not hide a good one
        String good = StandardWebhooks.sign(SECRET, MSG_ID, TS, BODY);
        assertEquals(Result.OK, verify(SECRET, String.valueOf(TS), "v1,%%% " + good, BODY));
    }

    @Test
    void reportsNonNumericTimestampsAsMalformed() {
        String signature = StandardWebhooks.sign(SECRET, MSG_ID, TS, BODY);
        assertEquals(Result.MALFORMED, verify(SECRET, "yesterday", signature, BODY));
        assertEquals(Result.MALFORMED, verify(SECRET, "-1700000000", signature, BODY));
        assertEquals(Result.MALFORMED, verify(SECRET, "1700000000.5", signature, BODY));
        assertEquals(Result.MALFORMED, verify(SECRET, "99999999999999999999999", signature, BODY));
    }

    @Test
    void badSecretIsAConfigurationErrorThatDoesNotLeakTheSecret() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StandardWebhooks.sign("whsec_not*base64*secret", MSG_ID, TS, BODY));
        assertFalse(e.getMessage().contains("not*base64*secret"));
        assertThrows(IllegalArgumentException.class, () -> StandardWebhooks.sign("", MSG_ID, TS, BODY));
    }

    @Test
    void newSecretsRoundTrip() {
        String secret = StandardWebhooks.newSecret();
        assertTrue(secret.startsWith("whsec_"));
        assertEquals(Result.OK, verify(secret, String.valueOf(TS), StandardWebhooks.sign(secret, MSG_ID, TS, BODY), BODY));
    }

    private static Result verify(String secret, String timestamp, String signature, byte[] body) {
        return StandardWebhooks.verify(secret, MSG_ID, timestamp, signature, body, NOW);
    }
}
