package dev.imagegen.page;

import java.time.Instant;
import java.util.Map;

import jakarta.annotation.security.PermitAll;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;

import io.quarkus.arc.profile.IfBuildProfile;

import dev.imagegen.api.ApiException;
import dev.imagegen.auth.DevTokens;
import dev.imagegen.config.ImagegenConfig;

/**
 * Dev mode only: {@code GET /dev/demo-token} hands the page at {@code /} the demo user's token, so that a
 * new user opens {@code http://localhost:8080/} and generates without typing one. The class does not exist
 * in prod or test builds (the route answers 404 there); the token is signed with the dev secret.
 */
@IfBuildProfile("dev")
@Path("/dev/demo-token")
@PermitAll
public class DevDemoTokenResource {

    /** The demo user of {@link DevTokens}, whose token the log and {@code target/dev-tokens.env} also give. */
    static final String DEMO_USER = "demo-user";

    @Inject
    ImagegenConfig config;

    @GET
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(hidden = true)
    public Map<String, String> token() {
        String secret = config.auth().jwtSecret().filter(s -> !s.isBlank())
                .orElseThrow(() -> ApiException.notFound("A demo token"));
        return Map.of("token", DevTokens.userToken(secret, DEMO_USER, Instant.now()));
    }
}
