package dev.imagegen.page;

import java.util.Map;

import jakarta.annotation.security.PermitAll;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;

import io.quarkus.arc.profile.IfBuildProfile;

/**
 * Dev mode only: {@code GET /dev/demo-token} hands the page at {@code /} the demo user's token (from
 * {@link DevDemoTokenService}), so that a new user opens {@code http://localhost:8080/} and generates without
 * typing one. The class does not exist in prod or test builds (the route answers 404 there); the token is
 * signed with the dev secret.
 */
@IfBuildProfile("dev")
@Path("/dev/demo-token")
@PermitAll
public class DevDemoTokenResource {

    @Inject
    DevDemoTokenService tokens;

    @GET
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(hidden = true)
    public Map<String, String> token() {
        return Map.of("token", tokens.demoToken());
    }
}
