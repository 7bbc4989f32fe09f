package dev.imagegen.auth;

import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Alternative;
import jakarta.enterprise.inject.Produces;

import org.eclipse.microprofile.jwt.JsonWebToken;

import io.smallrye.jwt.algorithm.SignatureAlgorithm;
import io.smallrye.jwt.auth.principal.DefaultJWTParser;
import io.smallrye.jwt.auth.principal.JWTAuthContextInfo;
import io.smallrye.jwt.auth.principal.JWTParser;
import io.smallrye.jwt.auth.principal.ParseException;

import dev.imagegen.config.ImagegenConfig;

/**
 * How SmallRye JWT verifies bearer tokens here: HS256 only (so {@code alg: none}, HS512 or RSA tokens are
 * refused), with the shared secret's raw bytes as the key (as Supabase signs), {@code exp} required,
 * {@code iat} optional, no issuer or audience check, and the {@code role} claim as the caller's group.
 * <p>
 * A token that verified is remembered until its {@code exp} ({@link VerifiedTokenCache}): a client sends the
 * same bearer token with every request, and its HMAC check and JSON parsing were a measurable share of an
 * enqueue's CPU. The cache key is the whole token, signature included, so a token with any byte changed
 * (another key's signature, edited claims) is verified afresh; the key itself is fixed for the process.
 */
@ApplicationScoped
public class JwtVerification {

    @Produces
    @Alternative
    @Priority(1)
    @ApplicationScoped
    JWTAuthContextInfo contextInfo(ImagegenConfig config) {
        JWTAuthContextInfo info = new JWTAuthContextInfo();
        // Without a configured secret (dev/test set one; prod refuses to start) nothing verifies: a random key.
        byte[] key = config.auth().jwtSecret()
                .map(s -> s.getBytes(StandardCharsets.UTF_8))
                .orElseGet(() -> java.util.UUID.randomUUID().toString().repeat(2).getBytes(StandardCharsets.UTF_8));
        info.setSecretVerificationKey(new SecretKeySpec(key, "HmacSHA256"));
        info.setSignatureAlgorithm(Set.of(SignatureAlgorithm.HS256));
        info.setTokenSchemes(List.of("Bearer"));
        info.setGroupsPath("role");
        info.setRequireNamedPrincipal(false);
        info.setExpGracePeriodSecs(0);
        // iat is optional (a token with only sub and exp is valid): SmallRye requires it unless the maximum
        // time-to-live is switched off (≤ 0) and no token age is set. exp stays required.
        info.setMaxTimeToLiveSecs(0L);
        info.setClockSkew(0);
        info.setRelaxVerificationKeyValidation(false);
        return info;
    }

    @Produces
    @Alternative
    @Priority(1)
    @ApplicationScoped
    JWTParser parser(JWTAuthContextInfo info) {
        return new VerifiedTokenCache(new DefaultJWTParser(info), System::currentTimeMillis, VerifiedTokenCache.MAX_ENTRIES);
    }

    /**
     * {@link JWTParser#parse(String)} with a bounded memory of tokens that verified, each kept until its
     * {@code exp} (a hit after that verifies again, which refuses it). Failures are never remembered. At
     * {@code maxEntries} the expired entries go, and if that is not enough, all of them. Everything but
     * {@code parse(String)} is passed through uncached.
     */
    static final class VerifiedTokenCache implements JWTParser {

        static final int MAX_ENTRIES = 10_000;

        private record Verified(JsonWebToken token, long expiresAtMillis) {
        }

        private final JWTParser delegate;
        private final LongSupplier clock;
        private final int maxEntries;
        private final Map<String, Verified> verified = new ConcurrentHashMap<>();

        VerifiedTokenCache(JWTParser delegate, LongSupplier clock, int maxEntries) {
            this.delegate = delegate;
            this.clock = clock;
            this.maxEntries = maxEntries;
        }

        int size() {
            return verified.size();
        }

        @Override
        public JsonWebToken parse(String token) throws ParseException {
            long now = clock.getAsLong();
            Verified hit = verified.get(token);
            if (hit != null) {
                if (now < hit.expiresAtMillis()) {
                    return hit.token();
                }
                verified.remove(token, hit);
            }
            JsonWebToken jwt = delegate.parse(token);
            long exp = jwt.getExpirationTime() * 1000L;
            if (exp > now) {
                if (verified.size() >= maxEntries) {
                    verified.values().removeIf(v -> v.expiresAtMillis() <= now);
                    if (verified.size() >= maxEntries) {
                        verified.clear();
                    }
                }
                verified.put(token, new Verified(jwt, exp));
            }
            return jwt;
        }

        @Override
        public JsonWebToken parse(String token, JWTAuthContextInfo context) throws ParseException {
            return delegate.parse(token, context);
        }

        @Override
        public JsonWebToken verify(String token, PublicKey key) throws ParseException {
            return delegate.verify(token, key);
        }

        @Override
        public JsonWebToken verify(String token, SecretKey key) throws ParseException {
            return delegate.verify(token, key);
        }

        @Override
        public JsonWebToken verify(String token, String secret) throws ParseException {
            return delegate.verify(token, secret);
        }

        @Override
        public JsonWebToken decrypt(String token, PrivateKey key) throws ParseException {
            return delegate.decrypt(token, key);
        }

        @Override
        public JsonWebToken decrypt(String token, SecretKey key) throws ParseException {
            return delegate.decrypt(token, key);
        }

        @Override
        public JsonWebToken decrypt(String token, String secret) throws ParseException {
            return delegate.decrypt(token, secret);
        }

        @Override
        public JsonWebToken parseOnly(String token) throws ParseException {
            return delegate.parseOnly(token);
        }
    }
}
