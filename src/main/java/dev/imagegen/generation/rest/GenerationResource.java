package dev.imagegen.generation.rest;

import jakarta.inject.Inject;
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

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.headers.Header;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.security.SecurityRequirement;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

import io.quarkus.security.Authenticated;
import io.smallrye.mutiny.Uni;

import dev.imagegen.api.ApiException;
import dev.imagegen.api.Cursor;
import dev.imagegen.api.Page;
import dev.imagegen.api.ResourceIds;
import dev.imagegen.api.StrictJson;
import dev.imagegen.auth.CallerResolver;
import dev.imagegen.generation.GenerationRequest;
import dev.imagegen.generation.GenerationService;
import dev.imagegen.generation.GenerationStatus;
import dev.imagegen.generation.GenerationView;

@Path("/")
@Authenticated
@Tag(name = "Generations")
@SecurityRequirement(name = "bearer")
@Produces(MediaType.APPLICATION_JSON)
public class GenerationResource {

    @Inject
    GenerationService service;

    @Inject
    CallerResolver callers;

    @POST
    @Path("v1/generations")
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(summary = "Enqueue an image generation", description = "Answers 202 at once; follow the generation by polling or its event stream.")
    @RequestBody(content = @org.eclipse.microprofile.openapi.annotations.media.Content(mediaType = MediaType.APPLICATION_JSON,
            schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = GenerationRequestDoc.class)))
    @APIResponse(responseCode = "202", description = "Enqueued (or an Idempotency-Key replay of the first answer)")
    @APIResponse(responseCode = "403", description = "A user sent priority (operators only)")
    @APIResponse(responseCode = "429", description = "Over the user's unfinished-generations cap or enqueue rate; nothing written",
            headers = @Header(name = "Retry-After", description = "Seconds to wait", schema = @Schema(type = SchemaType.INTEGER)))
    public Uni<Response> create(byte[] body, @HeaderParam("Idempotency-Key") String idempotencyKey) {
        return enqueue(body, idempotencyKey);
    }

    @POST
    @Path("functions/v1/start-generation")
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(summary = "Enqueue an image generation (the seed's route)", description = "Same body and answer as POST /v1/generations.")
    @RequestBody(content = @org.eclipse.microprofile.openapi.annotations.media.Content(mediaType = MediaType.APPLICATION_JSON,
            schema = @org.eclipse.microprofile.openapi.annotations.media.Schema(implementation = GenerationRequestDoc.class)))
    @APIResponse(responseCode = "202", description = "Enqueued (or an Idempotency-Key replay of the first answer)")
    @APIResponse(responseCode = "403", description = "A user sent priority (operators only)")
    @APIResponse(responseCode = "429", description = "Over the user's unfinished-generations cap or enqueue rate; nothing written",
            headers = @Header(name = "Retry-After", description = "Seconds to wait", schema = @Schema(type = SchemaType.INTEGER)))
    public Uni<Response> startGeneration(byte[] body, @HeaderParam("Idempotency-Key") String idempotencyKey) {
        return enqueue(body, idempotencyKey);
    }

    @GET
    @Path("v1/generations/{id}")
    @Operation(summary = "A generation with its images")
    public Uni<GenerationView> get(@PathParam("id") String id) {
        return service.get(callers.caller(), ResourceIds.parse(id));
    }

    @POST
    @Path("v1/generations/{id}/cancel")
    @Operation(summary = "Cancel a queued or running generation", description = "Also cancels its Replicate prediction. Already finished: 409.")
    public Uni<GenerationView> cancel(@PathParam("id") String id) {
        return service.cancel(callers.caller(), ResourceIds.parse(id));
    }

    @GET
    @Path("v1/generations")
    @Operation(summary = "The caller's generations, newest first")
    public Uni<Page<GenerationView>> list(@QueryParam("status") String status, @QueryParam("limit") String limit,
            @QueryParam("cursor") String cursor) {
        GenerationStatus s = null;
        if (status != null) {
            s = GenerationStatus.parse(status).orElseThrow(() -> ApiException.invalid("status",
                    "must be one of pending, queued, processing, downloading, completed, failed, canceled"));
        }
        return service.list(callers.caller(), s, Cursor.decode(cursor), Cursor.limit(limit, 20));
    }

    private Uni<Response> enqueue(byte[] body, String idempotencyKey) {
        service.checkEnvelope(body, idempotencyKey);
        var caller = callers.caller();
        GenerationRequest request = GenerationRequest.parse(StrictJson.object(body));
        return service.enqueue(caller, request, idempotencyKey)
                .map(r -> Response.accepted(r).header("Location", "/v1/generations/" + r.generationId()).build());
    }
}
