package dev.imagegen.api;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import org.jboss.logging.Logger;

import io.quarkus.runtime.configuration.MemorySize;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

/**
 * Problem+json for the errors the HTTP layer answers before any resource runs: a body over the server's
 * limit (413, whether announced by Content-Length or found while reading a chunked body), a body without
 * a {@code Content-Type} (415: JAX-RS would otherwise take it for whatever the method consumes), and any
 * other failure the router itself reports.
 *
 * <p>What Vert.x refuses while decoding (a request line over {@code quarkus.http.limits.max-initial-line-length}:
 * 414; headers over {@code max-header-size}: 431; a malformed request: 400) never reaches the router, and
 * Quarkus gives no hook to Vert.x's invalid-request handler: those answers have an empty body.
 */
@ApplicationScoped
public class HttpProblems {

    private static final Logger LOG = Logger.getLogger(HttpProblems.class);

    @ConfigProperty(name = "quarkus.http.limits.max-body-size", defaultValue = "10240K")
    MemorySize maxBodySize;

    void install(@Observes Router router) {
        long limit = maxBodySize.asLongValue();
        BodyHandler chunkedBodies = BodyHandler.create(false).setBodyLimit(limit);
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
            if (hasBody(ctx.request(), length) && ctx.request().getHeader(HttpHeaders.CONTENT_TYPE) == null) {
                send(ctx, 415, "A request body needs a Content-Type (application/json).");
                return;
            }
            if (length == null && ctx.request().getHeader(HttpHeaders.TRANSFER_ENCODING) != null) {
                // A chunked body announces no size: read it here, under the limit, so that going over it fails
                // this route (413 problem+json below) instead of the resource's body stream, which answers an
                // empty 413 itself and then fails the request a second time.
                chunkedBodies.handle(ctx);
                return;
            }
            ctx.next();
        });
        router.route().order(Integer.MIN_VALUE).failureHandler(ctx -> {
            int status = ctx.statusCode();
            if (ctx.response().headWritten() || status < 400) {
                ctx.next();
                return;
            }
            if (status >= 500) {
                // What never reached a resource is logged here, as ExceptionMappers logs what did.
                LOG.errorf(ctx.failure(), "Request %s failed before any resource ran", ctx.request().path());
            }
            send(ctx, status, status == 413 ? "The request body is too large (limit " + limit + " bytes)." : "HTTP " + status);
        });
    }

    /** A body is announced by a non-zero Content-Length or by chunked transfer (no Content-Length at all). */
    private static boolean hasBody(io.vertx.core.http.HttpServerRequest request, String length) {
        if (length != null) {
            return !length.trim().equals("0");
        }
        return request.getHeader(HttpHeaders.TRANSFER_ENCODING) != null;
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
