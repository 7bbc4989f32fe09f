package dev.imagegen.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;

import org.eclipse.microprofile.jwt.JsonWebToken;
import org.junit.jupiter.api.Test;

import io.smallrye.jwt.auth.principal.DefaultJWTParser;
import io.smallrye.jwt.auth.principal.JWTAuthContextInfo;
import io.smallrye.jwt.auth.principal.ParseException;

import dev.imagegen.config.ImagegenConfig;

/** Dev tokens pass the very verification that {@link JwtVerification} configures for the service. */
class DevTokensTest {

    static final String SECRET = "dev-secret-change-me-dev-secret-change-me";

    static JsonWebToken verify(String token, String secret) throws ParseException {
        JWTAuthContextInfo info = new JwtVerification().contextInfo(configWithSecret(secret));
        return new DefaultJWTParser(info).parse(token);
    }

    /** An {@link ImagegenConfig} whose only answer is {@code auth().jwtSecret()}. */
    static ImagegenConfig configWithSecret(String secret) {
        ImagegenConfig.Auth auth = (ImagegenConfig.Auth) Proxy.newProxyInstance(DevTokensTest.class.getClassLoader(),
                new Class<?>[] { ImagegenConfig.Auth.class }, (p, m, a) -> Optional.of(secret));
        return (ImagegenConfig) Proxy.newProxyInstance(DevTokensTest.class.getClassLoader(),
                new Class<?>[] { ImagegenConfig.class }, (p, m, a) -> {
                    if (m.getName().equals("auth")) {
                        return auth;
                    }
                    throw new UnsupportedOperationException(m.getName());
                });
    }

    @Test
    void demoUserTokenIsAcceptedWithSubjectAndAuthenticatedRole() throws Exception {
        Instant now = Instant.now();
        JsonWebToken jwt = verify(DevTokens.userToken(SECRET, "demo-user", now), SECRET);
        assertEquals("demo-user", jwt.getSubject());
        assertEquals(Set.of("authenticated"), jwt.getGroups());
        assertEquals(now.plus(DevTokens.VALIDITY).getEpochSecond(), jwt.getExpirationTime());
    }

    @Test
    void operatorTokenIsAcceptedWithServiceRoleAndNoSubject() throws Exception {
        JsonWebToken jwt = verify(DevTokens.operatorToken(SECRET, Instant.now()), SECRET);
        assertNull(jwt.getSubject());
        assertEquals(Set.of("service_role"), jwt.getGroups());
    }

    @Test
    void tokensAreValidForThirtyDays() throws Exception {
        Instant now = Instant.now();
        JsonWebToken jwt = verify(DevTokens.operatorToken(SECRET, now), SECRET);
        assertEquals(30L * 24 * 3600, jwt.getExpirationTime() - jwt.getIssuedAtTime());
    }

    @Test
    void aTokenSignedWithAnotherSecretIsRefused() {
        String token = DevTokens.userToken(SECRET, "demo-user", Instant.now());
        assertThrows(ParseException.class, () -> verify(token, "another-secret-another-secret-another-secret"));
    }

    @Test
    void anExpiredTokenIsRefused() {
        // Expired two minutes ago: beyond SmallRye JWT's default 60 s clock skew.
        String token = DevTokens.userToken(SECRET, "demo-user", Instant.now().minus(DevTokens.VALIDITY).minusSeconds(120));
        assertThrows(ParseException.class, () -> verify(token, SECRET));
    }

    @Test
    void envFileExportsBothTokens() {
        String text = DevTokens.envFile("u.t.s", "a.t.s", Instant.parse("2030-01-01T00:00:00Z"));
        assertTrue(text.contains("\nexport TOKEN=u.t.s\n"), text);
        assertTrue(text.endsWith("\nexport ADMIN_TOKEN=a.t.s\n"), text);
        assertTrue(text.startsWith("# "), text);
    }
}
