package dev.imagegen.auth;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;

import javax.crypto.spec.SecretKeySpec;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Alternative;
import jakarta.enterprise.inject.Produces;

import io.smallrye.jwt.algorithm.SignatureAlgorithm;
import io.smallrye.jwt.auth.principal.JWTAuthContextInfo;

import dev.imagegen.config.ImagegenConfig;

/**
 * How SmallRye JWT verifies bearer tokens here: HS256 only (so {@code alg: none}, HS512 or RSA tokens are
 * refused), with the shared secret's raw bytes as the key (as Supabase signs), {@code exp} required,
 * {@code iat} optional, no issuer or audience check, and the {@code role} claim as the caller's group.
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
}
