package dev.imagegen.replicate;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import io.smallrye.mutiny.Uni;

/**
 * The Replicate HTTP API as a reactive REST client (built by {@link ReplicateClient} with its base URL
 * and timeouts). Answers are raw {@link Response}s: {@link ReplicateClient} reads statuses, headers and
 * bodies itself, leniently, and translates them into domain outcomes.
 */
@Path("/v1")
@Produces(MediaType.APPLICATION_JSON)
interface ReplicateApi {

    /** Official models (no version), e.g. black-forest-labs/flux-schnell. */
    @POST
    @Path("/models/{owner}/{name}/predictions")
    @Consumes(MediaType.APPLICATION_JSON)
    Uni<Response> createForModel(@PathParam("owner") String owner, @PathParam("name") String name,
            @HeaderParam("Authorization") String authorization, @HeaderParam("Prefer") String prefer, String body);

    /** Any model version: the body carries {@code version}. */
    @POST
    @Path("/predictions")
    @Consumes(MediaType.APPLICATION_JSON)
    Uni<Response> create(@HeaderParam("Authorization") String authorization, @HeaderParam("Prefer") String prefer,
            String body);

    @GET
    @Path("/predictions/{id}")
    Uni<Response> get(@PathParam("id") String id, @HeaderParam("Authorization") String authorization);

    @POST
    @Path("/predictions/{id}/cancel")
    Uni<Response> cancel(@PathParam("id") String id, @HeaderParam("Authorization") String authorization);

    /**
     * Newest first, 100 a page; used to find a prediction whose create answer was lost. {@code cursor} is
     * taken from the previous page's {@code next} (null for the first page).
     */
    @GET
    @Path("/predictions")
    Uni<Response> list(@HeaderParam("Authorization") String authorization, @QueryParam("created_after") String createdAfter,
            @QueryParam("cursor") String cursor);
}
