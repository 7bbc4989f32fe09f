package dev.imagegen.webhook;

import java.util.Map;

import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

import io.smallrye.mutiny.Uni;

/**
 * {@code POST /v1/webhooks/replicate}: hands the raw body and the signature headers to {@link WebhookService}
 * and answers {@code {"received": true, "duplicate": …}}.
 */
@Path("/v1/webhooks/replicate")
@Tag(name = "Webhooks")
public class WebhookResource {

    @Inject
    WebhookService webhooks;

    @POST
    @Consumes(MediaType.WILDCARD)
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(summary = "Replicate prediction webhooks (Standard Webhooks signature)")
    public Uni<Map<String, Object>> receive(byte[] body, @HeaderParam(StandardWebhooks.HEADER_ID) String id,
            @HeaderParam(StandardWebhooks.HEADER_TIMESTAMP) String timestamp,
            @HeaderParam(StandardWebhooks.HEADER_SIGNATURE) String signature) {
        return webhooks.receive(body, id, timestamp, signature)
                .map(fresh -> Map.<String, Object>of("received", true, "duplicate", !fresh));
    }
}
