package dev.imagegen.auth;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import jakarta.inject.Inject;

import org.eclipse.microprofile.jwt.JsonWebToken;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.smallrye.jwt.auth.principal.DefaultJWTParser;
import io.smallrye.jwt.auth.principal.JWTParser;
import io.smallrye.jwt.auth.principal.ParseException;

import dev.imagegen.testsupport.Tokens;

@QuarkusTest
class AuthTest {

    static String hs512(String header, String payload) throws Exception {
        Base64.Encoder enc = Base64.getUrlEncoder().withoutPadding();
        String input = enc.encodeToString(header.getBytes(StandardCharsets.UTF_8)) + "."
                + enc.encodeToString(payload.getBytes(StandardCharsets.UTF_8));
        Mac mac = Mac.getInstance("HmacSHA512");
        mac.init(new SecretKeySpec(Tokens.SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA512"));
        return input + "." + enc.encodeToString(mac.doFinal(input.getBytes(StandardCharsets.US_ASCII)));
    }

    static String[] badAuthorizations() throws Exception {
        long exp = Tokens.inSeconds(3600);
        String claims = "{\"sub\":\"u1\",\"role\":\"authenticated\",\"exp\":" + exp + "}";
        return new String[] {
                "",
                "Bearer",
                "Bearer ",
                "Bearer not-a-jwt",
                "Bearer a.b.c",
                "Basic dXNlcjpwYXNz",
                "Bearer " + Tokens.raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims, "some-other-secret-some-other-secret!"),
                "Bearer " + Tokens.raw("{\"alg\":\"none\",\"typ\":\"JWT\"}", claims, null),
                "Bearer " + hs512("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", claims),
                "Bearer " + Tokens.raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
                        "{\"sub\":\"u1\",\"role\":\"authenticated\",\"exp\":" + Tokens.inSeconds(-3600) + "}", Tokens.SECRET),
                "Bearer " + Tokens.raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "{\"sub\":\"u1\",\"role\":\"authenticated\"}",
                        Tokens.SECRET),
                "Bearer " + Tokens.raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
                        "{\"role\":\"authenticated\",\"exp\":" + exp + "}", Tokens.SECRET),
                "Bearer " + Tokens.raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "not json", Tokens.SECRET),
        };
    }

    @ParameterizedTest
    @MethodSource("badAuthorizations")
    void badOrMissingTokensAre401ProblemsWithChallenge(String authorization) {
        var req = given();
        if (!authorization.isEmpty()) {
            req = req.header("Authorization", authorization);
        }
        req.get("/v1/generations").then()
                .statusCode(401)
                .header("WWW-Authenticate", "Bearer")
                .contentType("application/problem+json")
                .body("status", equalTo(401));
        var post = given();
        if (!authorization.isEmpty()) {
            post = post.header("Authorization", authorization);
        }
        post.contentType(ContentType.JSON).body("{\"prompt\":\"x\"}").post("/v1/generations").then()
                .statusCode(401).header("WWW-Authenticate", "Bearer");
    }

    @Test
    void supabaseStyleTokensWork() {
        String user = Tokens.raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
                "{\"aud\":\"authenticated\",\"sub\":\"4f0a4c8e-2f6b-4f0e-9d1e-7d1c2b3a4f5e\",\"role\":\"authenticated\",\"iat\":"
                        + Tokens.inSeconds(0) + ",\"exp\":" + Tokens.inSeconds(600) + "}",
                Tokens.SECRET);
        given().header("Authorization", "Bearer " + user).get("/v1/generations").then().statusCode(200);
        String serviceRole = Tokens.raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
                "{\"iss\":\"supabase\",\"role\":\"service_role\",\"iat\":" + Tokens.inSeconds(0) + ",\"exp\":"
                        + Tokens.inSeconds(600) + "}",
                Tokens.SECRET);
        given().header("Authorization", "Bearer " + serviceRole).get("/v1/generations").then().statusCode(200);
    }

    // --- the cache of verified tokens (JwtVerification.VerifiedTokenCache) ---------------------------------

    @Inject
    JWTParser parser;

    @Test
    void theApplicationVerifiesThroughTheCache() {
        assertInstanceOf(JwtVerification.VerifiedTokenCache.class, unwrap(parser));
    }

    @Test
    void aCachedTokenWithAnotherSignatureIsVerifiedAfreshAndRefused() {
        String claims = "{\"sub\":\"cache-user\",\"role\":\"authenticated\",\"exp\":" + Tokens.inSeconds(600) + "}";
        String good = Tokens.raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims, Tokens.SECRET);
        given().header("Authorization", "Bearer " + good).get("/v1/generations").then().statusCode(200);
        given().header("Authorization", "Bearer " + good).get("/v1/generations").then().statusCode(200);
        // Same header and claims, signed with another key (a changed or revoked secret): never a cache hit.
        String otherKey = Tokens.raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims, "another-secret-another-secret-another-secret!!");
        given().header("Authorization", "Bearer " + otherKey).get("/v1/generations").then().statusCode(401);
        // Claims edited after signing, signature kept: refused too.
        String[] parts = good.split("\\.");
        String edited = parts[0] + "." + java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(
                claims.replace("cache-user", "someone-else").getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
        given().header("Authorization", "Bearer " + edited).get("/v1/generations").then().statusCode(401);
        given().header("Authorization", "Bearer " + good).get("/v1/generations").then().statusCode(200);
    }

    @Test
    void verifiedTokensAreRememberedUntilTheirExpAndNotAfter() throws Exception {
        AtomicLong now = new AtomicLong(1_000_000L);
        CountingParser delegate = new CountingParser(now);
        var cache = new JwtVerification.VerifiedTokenCache(delegate, now::get, 100);
        delegate.exp.put("t1", 1_060L); // exp in seconds: 60 s after "now"
        assertEquals("t1", cache.parse("t1").getName());
        assertEquals("t1", cache.parse("t1").getName());
        assertEquals(1, delegate.calls.get(), "the second use is a cache hit");
        now.set(1_059_999L);
        cache.parse("t1");
        assertEquals(1, delegate.calls.get(), "still valid one millisecond before exp");
        now.set(1_060_000L);
        assertThrows(ParseException.class, () -> cache.parse("t1"), "at exp the token is verified again, and refused");
        assertEquals(2, delegate.calls.get());
        assertThrows(ParseException.class, () -> cache.parse("t1"), "and never served from the cache again");
        assertEquals(3, delegate.calls.get());
    }

    @Test
    void failuresAreNotRememberedAndTheCacheIsBounded() throws Exception {
        AtomicLong now = new AtomicLong(0);
        CountingParser delegate = new CountingParser(now);
        var cache = new JwtVerification.VerifiedTokenCache(delegate, now::get, 3);
        assertThrows(ParseException.class, () -> cache.parse("unknown"));
        assertThrows(ParseException.class, () -> cache.parse("unknown"));
        assertEquals(2, delegate.calls.get(), "a refused token is checked every time");
        assertEquals(0, cache.size());
        for (int i = 0; i < 10; i++) {
            delegate.exp.put("t" + i, 3600L);
            cache.parse("t" + i);
            assertTrue(cache.size() <= 3, "at most 3 entries, had " + cache.size());
        }
    }

    private static Object unwrap(Object bean) {
        return bean instanceof io.quarkus.arc.ClientProxy proxy ? proxy.arc_contextualInstance() : bean;
    }

    /** Accepts the tokens in {@code exp} (name = token, exp in seconds) while the clock is before their exp. */
    static final class CountingParser extends DefaultJWTParser {
        final Map<String, Long> exp = new ConcurrentHashMap<>();
        final AtomicInteger calls = new AtomicInteger();
        final AtomicLong now;

        CountingParser(AtomicLong now) {
            this.now = now;
        }

        @Override
        public JsonWebToken parse(String token) throws ParseException {
            calls.incrementAndGet();
            Long e = exp.get(token);
            if (e == null || now.get() >= e * 1000) {
                throw new ParseException("refused");
            }
            return new JsonWebToken() {
                @Override
                public String getName() {
                    return token;
                }

                @Override
                public Set<String> getClaimNames() {
                    return Set.of("exp");
                }

                @SuppressWarnings("unchecked")
                @Override
                public <T> T getClaim(String claimName) {
                    return "exp".equals(claimName) ? (T) e : null;
                }
            };
        }
    }
}
