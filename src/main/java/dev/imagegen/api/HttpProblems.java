package dev.imagegen.api;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.quarkus.runtime.configuration.MemorySize;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * Problem+json for the errors the HTTP layer answers before any resource runs: a body over the server's
 * limit (413, whether announced by Content-Length or found while reading a chunked body), and any other
 * failure the router itself reports.
 */
@ApplicationScoped
public class HttpProblems {

    @ConfigProperty(name = "quarkus.http.limits.max-body-size", defaultValue = "10240K")
    MemorySize maxBodySize;

    void install(@Observes Router router) {
        long limit = maxBodySize.asLongValue();
        router.route().order(Integer.MIN_VALUE).handler(ctx -> {
            String length = ctx.request().getHeader(HttpHeaders.CONTENT_LENGTH);
            if (length != null) {
                try {
                    if (Long.parseLong(length.trim()) > limit) {
                        send(ctx, 413, "The request body is too large (limit " + limit + " bytes).");
                        return;
                    }
                } catch (NumberFormatException e) {
                    send(ctx, 400, "The Content-Length header is not a number.");
                    return;
                }
            }
            ctx.next();
        });
        router.route().order(Integer.MIN_VALUE).failureHandler(ctx -> {
            int status = ctx.statusCode();
            if (ctx.response().headWritten() || status < 400) {
                ctx.next();
                return;
            }
            send(ctx, status, status == 413 ? "The request body is too large (limit " + limit + " bytes)." : "HTTP " + status);
        });
    }

    static void send(RoutingContext ctx, int status, String detail) {
        ProblemType type = ProblemType.forStatus(status);
        String body = new JsonObject()
                .put("type", type.uri())
                .put("title", type.title())
                .put("status", status)
                .put("detail", detail)
                .put("instance", ctx.request().path())
                .encode();
        var response = ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, Problem.MEDIA_TYPE);
        if (status == 413) {
            response.putHeader(HttpHeaders.CONNECTION, "close");
        }
        response.end(body);
    }
}
