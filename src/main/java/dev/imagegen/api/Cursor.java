package dev.imagegen.api;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.UUID;

/**
 * An opaque keyset cursor for newest-first lists: the (created_at, id) of the last item on a page.
 * Encoded as base64url of {@code <epoch micros>:<uuid>}.
 */
public record Cursor(OffsetDateTime createdAt, UUID id) {

    /** 9999-12-31T23:59:59Z: no row is created later, and every instant up to it is a valid timestamptz. */
    private static final long LATEST_MICROS = 253_402_300_799_000_000L;

    public static Cursor of(OffsetDateTime createdAt, UUID id) {
        return new Cursor(createdAt, id);
    }

    public String encode() {
        long micros = ChronoUnit.MICROS.between(Instant.EPOCH, createdAt.toInstant());
        return Base64.getUrlEncoder().withoutPadding()
                .encodeToString((micros + ":" + id).getBytes(StandardCharsets.US_ASCII));
    }

    /** Decodes a cursor from a query parameter; a malformed one is a 400 naming {@code cursor}. */
    public static Cursor decode(String s) {
        if (s == null || s.isEmpty()) {
            return null;
        }
        try {
            if (s.length() > 100) {
                throw new IllegalArgumentException("too long");
            }
            String text = new String(Base64.getUrlDecoder().decode(s), StandardCharsets.US_ASCII);
            int colon = text.indexOf(':');
            long micros = Long.parseLong(text.substring(0, colon));
            UUID id = UUID.fromString(text.substring(colon + 1));
            if (!id.toString().equals(text.substring(colon + 1))) {
                throw new IllegalArgumentException("not canonical");
            }
            if (micros < 0 || micros > LATEST_MICROS) {
                // outside PostgreSQL's timestamp range a forged cursor would fail the query: refuse it here
                throw new IllegalArgumentException("out of range");
            }
            Instant at = Instant.EPOCH.plus(micros, ChronoUnit.MICROS);
            return new Cursor(at.atOffset(ZoneOffset.UTC), id);
        } catch (RuntimeException e) {
            throw ApiException.invalid("cursor", "is not a cursor returned by this API");
        }
    }

    /**
     * Parses {@code limit}: absent → default, else 1 to 3 ASCII digits worth 1..100. Nothing else is read
     * ({@code +5}, {@code 1e2}, {@code -0}, non-ASCII digits, a 400-digit number): a 400 in constant work.
     */
    public static int limit(String raw, int defaultLimit) {
        if (raw == null) {
            return defaultLimit;
        }
        if (!raw.isEmpty() && raw.length() <= 3 && raw.chars().allMatch(c -> c >= '0' && c <= '9')) {
            int v = Integer.parseInt(raw);
            if (v >= 1 && v <= 100) {
                return v;
            }
        }
        throw ApiException.invalid("limit", "must be an integer from 1 to 100");
    }
}
