package dev.imagegen.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.jboss.logging.Logger;

import io.quarkus.arc.profile.IfBuildProfile;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.jwt.build.Jwt;
import io.smallrye.jwt.build.JwtClaimsBuilder;

import dev.imagegen.config.ImagegenConfig;

/**
 * Dev mode only: at every start (and live reload), prints two ready-to-use bearer tokens signed with the
 * configured {@code imagegen.auth.jwt-secret}, and writes them to {@code target/dev-tokens.env} for
 * {@code source target/dev-tokens.env}:
 * <ul>
 * <li>{@code TOKEN}: the demo user ({@code sub} {@value #DEMO_USER}, role {@code authenticated});</li>
 * <li>{@code ADMIN_TOKEN}: an operator (role {@code service_role}, no subject), like Supabase's service key.</li>
 * </ul>
 * The bean does not exist in prod or test builds. The tokens are signed with the dev secret, which nothing
 * outside a developer's machine accepts.
 */
@IfBuildProfile("dev")
@ApplicationScoped
public class DevTokens {

    private static final Logger LOG = Logger.getLogger(DevTokens.class);

    static final String DEMO_USER = "demo-user";
    static final Duration VALIDITY = Duration.ofDays(30);
    static final Path ENV_FILE = Path.of("target", "dev-tokens.env");

    void onStart(@Observes StartupEvent event, ImagegenConfig config) {
        Optional<String> secret = config.auth().jwtSecret().filter(s -> !s.isBlank());
        if (secret.isEmpty()) {
            LOG.warn("No imagegen.auth.jwt-secret in dev mode: no dev tokens");
            return;
        }
        Instant now = Instant.now();
        String user = userToken(secret.get(), DEMO_USER, now);
        String admin = operatorToken(secret.get(), now);
        String written = write(envFile(user, admin, now.plus(VALIDITY)));
        LOG.infof("Dev bearer tokens (HS256, valid %d days)%s:%n"
                + "  demo user (sub %s, role authenticated):%n    export TOKEN=%s%n"
                + "  operator (role service_role):%n    export ADMIN_TOKEN=%s",
                VALIDITY.toDays(), written, DEMO_USER, user, admin);
    }

    /** A user's token: {@code sub} and role {@code authenticated}, as Supabase issues them. */
    public static String userToken(String secret, String subject, Instant now) {
        return sign(Jwt.claims().subject(subject).claim("role", "authenticated"), secret, now);
    }

    /** An operator's token: role {@code service_role} and no subject, like Supabase's service-role key. */
    public static String operatorToken(String secret, Instant now) {
        return sign(Jwt.claims().claim("role", "service_role"), secret, now);
    }

    private static String sign(JwtClaimsBuilder claims, String secret, Instant now) {
        return claims.issuedAt(now).expiresAt(now.plus(VALIDITY)).signWithSecret(secret);
    }

    /** The text of {@code target/dev-tokens.env}. */
    static String envFile(String userToken, String adminToken, Instant expiresAt) {
        return "# Dev-mode bearer tokens written by imagegen-queue at start-up; valid until " + expiresAt + ".\n"
                + "# Usage: source target/dev-tokens.env; curl -H \"Authorization: Bearer $TOKEN\" ...\n"
                + "export TOKEN=" + userToken + "\n"
                + "export ADMIN_TOKEN=" + adminToken + "\n";
    }

    /** Writes the file (owner-only where the file system allows); returns a note for the log line. */
    private static String write(String content) {
        try {
            Files.createDirectories(ENV_FILE.toAbsolutePath().getParent());
            Files.writeString(ENV_FILE, content, StandardCharsets.UTF_8);
            try {
                Files.setPosixFilePermissions(ENV_FILE, PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException e) {
                // not a POSIX file system: leave the defaults
            }
            return "; also in " + ENV_FILE + ": source " + ENV_FILE;
        } catch (IOException e) {
            LOG.warnf("Could not write %s: %s", ENV_FILE, e.getMessage());
            return "";
        }
    }
}
