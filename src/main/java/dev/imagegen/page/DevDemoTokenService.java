package dev.imagegen.page;

import java.time.Instant;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.quarkus.arc.profile.IfBuildProfile;

import dev.imagegen.api.ApiException;
import dev.imagegen.auth.DevTokens;
import dev.imagegen.config.ImagegenConfig;

/** Dev mode only: the demo user's token, signed with the dev secret (absent in prod and test builds). */
@IfBuildProfile("dev")
@ApplicationScoped
public class DevDemoTokenService {

    /** The demo user of {@link DevTokens}, whose token the log and {@code target/dev-tokens.env} also give. */
    static final String DEMO_USER = "demo-user";

    @Inject
    ImagegenConfig config;

    /** A fresh token of the demo user; 404 when no JWT secret is configured. */
    public String demoToken() {
        String secret = config.auth().jwtSecret().filter(s -> !s.isBlank())
                .orElseThrow(() -> ApiException.notFound("A demo token"));
        return DevTokens.userToken(secret, DEMO_USER, Instant.now());
    }
}
