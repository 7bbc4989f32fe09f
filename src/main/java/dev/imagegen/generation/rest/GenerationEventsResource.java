package dev.imagegen.generation.rest;

import java.util.UUID;

import jakarta.annotation.security.PermitAll;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.sse.OutboundSseEvent;
import jakarta.ws.rs.sse.Sse;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;
import org.eclipse.microprofile.openapi.annotations.security.SecurityRequirement;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;
import org.jboss.resteasy.reactive.server.SimpleResourceInfo;

import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

import dev.imagegen.api.ResourceIds;
import dev.imagegen.auth.CallerResolver;
import dev.imagegen.generation.GenerationEvents;

/**
 * {@code GET /v1/generations/{id}/events}: a generation's status as Server-Sent Events.
 *
 * <p>Quarkus REST writes the {@code 200 text/event-stream} head as soon as an SSE method returns its
 * {@code Multi} (and streams a {@code Uni<Multi>} as plain text), so the owner check and the first read
 * happen in {@link FollowFilter}, before the method: an unknown (or another user's) id is a 404 problem,
 * never an empty stream. The method then only turns the prepared stream into SSE events.
 *
 * <p>Two ways in: a bearer token, or the signed {@code events_url} ({@code ?expires=…&sig=…}) that a browser's
 * {@code EventSource} opens with no header. The filter therefore does the authentication itself (the class is
 * {@code @PermitAll} so that the framework does not ask a link for a token): no valid token and no valid
 * link is a 401.
 */
@Path("/")
@PermitAll
@Tag(name = "Generations")
@SecurityRequirement(name = "bearer")
public class GenerationEventsResource {

    /** The SSE event name of a state. */
    public static final String STATUS_EVENT = "status";

    /** The text of the keep-alive comment ({@code : keep-alive}). */
    public static final String KEEP_ALIVE_COMMENT = "keep-alive";

    private static final String STREAM_PROPERTY = GenerationEventsResource.class.getName() + ".stream";

    @GET
    @Path("v1/generations/{id}/events")
    @Produces(MediaType.SERVER_SENT_EVENTS)
    @Operation(summary = "Follow a generation's status (Server-Sent Events)", description = """
            The first event is the current state; then one `status` event per status change, each carrying \
            the generation JSON exactly as GET /v1/generations/{id} returns it. The stream ends after \
            completed, failed or canceled (and after one hour: reconnect to go on). An idle stream gets a \
            `: keep-alive` comment at least every 15 s. A slow reader skips intermediate states. Every event \
            has an `id:`; reconnecting (with or without `Last-Event-ID`) gets the current state at once. \
            Authenticate with a bearer token, or open the signed `events_url` of the generation with no header. \
            Too many open streams: 429 (per user) or 503 (per replica), with `Retry-After`.""")
    public Multi<OutboundSseEvent> events(@PathParam("id") String id,
            @Parameter(description = "Signed link expiry (from events_url)") @QueryParam("expires") String expires,
            @Parameter(description = "Signed link signature (from events_url)") @QueryParam("sig") String sig,
            @Parameter(description = "Sent by a reconnecting EventSource; the current state comes first either way")
            @HeaderParam("Last-Event-ID") String lastEventId,
            @Context Sse sse, @Context ContainerRequestContext request) {
        @SuppressWarnings("unchecked")
        Multi<GenerationEvents.Event> stream = (Multi<GenerationEvents.Event>) request.getProperty(STREAM_PROPERTY);
        if (stream == null) {
            // Only if the filter did not run: never expected.
            return Multi.createFrom().failure(new IllegalStateException("the event stream was not prepared"));
        }
        return stream.map(e -> e.keepAlive()
                ? sse.newEventBuilder().comment(" " + KEEP_ALIVE_COMMENT).build()
                : sse.newEventBuilder().name(STATUS_EVENT).id(e.id()).data(e.json()).build());
    }

    /**
     * Prepares the stream of {@link #events} before the method runs: authenticates (lazily), checks the
     * id and its owner, and waits for the first read. Its failures (a refused stream's 429 or 503 included)
     * go through the global exception mappers as problem answers. Every other request passes through untouched.
     */
    public static class FollowFilter {

        @Inject
        GenerationEvents events;

        @Inject
        CallerResolver callers;

        @ServerRequestFilter
        public Uni<Response> follow(ContainerRequestContext request, SimpleResourceInfo resource) {
            if (resource.getResourceClass() != GenerationEventsResource.class || !"events".equals(resource.getMethodName())) {
                return Uni.createFrom().nullItem();
            }
            var query = request.getUriInfo().getQueryParameters();
            Uni<Multi<GenerationEvents.Event>> follow = query.containsKey("sig") || query.containsKey("expires")
                    ? events.followByLink(id(request), query.getFirst("expires"), query.getFirst("sig"))
                    : callers.authenticated("A valid bearer token is required (Authorization: Bearer <JWT>).")
                            .flatMap(v -> {
                                UUID id = id(request);
                                return events.follow(callers.caller(), id);
                            });
            return follow.map(stream -> {
                request.setProperty(STREAM_PROPERTY, stream);
                return null;
            });
        }

        private static UUID id(ContainerRequestContext request) {
            return ResourceIds.parse(request.getUriInfo().getPathParameters().getFirst("id"));
        }
    }
}
