package dev.imagegen.simulator;

import static dev.imagegen.simulator.Responses.problem;
import static dev.imagegen.simulator.Responses.rateLimitHeaders;
import static dev.imagegen.simulator.Responses.send;

import java.util.ArrayList;
import java.util.List;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/** What every API route checks first (the bearer token, a JSON body) and the refusals they share. */
final class RequestChecks {

    private final SimulatorSettings settings;

    RequestChecks(SimulatorSettings settings) {
        this.settings = settings;
    }

    /** True when the request carries an accepted bearer token; else answers 401 and returns false. */
    boolean authorized(RoutingContext ctx, Route route) {
        String header = ctx.request().getHeader("Authorization");
        String detail = null;
        if (header == null || header.isBlank()) {
            detail = "You did not pass an authentication token";
        } else {
            String h = header.trim();
            boolean bearer = h.regionMatches(true, 0, "Bearer ", 0, 7);
            String token = bearer ? h.substring(7).trim() : "";
            if (!bearer || token.isEmpty() || !settings.tokenCheck.test(token)) {
                detail = "You did not pass a valid authentication token";
            }
        }
        if (detail == null) {
            return true;
        }
        rateLimitHeaders(ctx, route);
        send(ctx, 401, Responses.PROBLEM_JSON,
                new JsonObject().put("title", "Unauthenticated").put("detail", detail).put("status", 401));
        return false;
    }

    /** The body as a JSON object; else answers 400 and returns null. */
    JsonObject jsonBody(RoutingContext ctx, Route route) {
        String text = ctx.body() == null ? null : ctx.body().asString();
        if (text != null && !text.isBlank()) {
            try {
                Object parsed = Json.decodeValue(text);
                if (parsed instanceof JsonObject o) {
                    return o;
                }
            } catch (DecodeException e) {
                // fall through
            }
        }
        rateLimitHeaders(ctx, route);
        send(ctx, 400, Responses.PROBLEM_JSON, problem("Bad Request", "The request body must be a JSON object", 400));
        return null;
    }

    /** Replicate's 404; API routes also carry the rate-limit headers, file routes do not. */
    static void notFound(RoutingContext ctx, boolean api) {
        if (api) {
            rateLimitHeaders(ctx, null);
        }
        Responses.notFound(ctx);
    }

    static void inputInvalid(RoutingContext ctx, List<JsonObject> errors) {
        rateLimitHeaders(ctx, Route.CREATE);
        send(ctx, 422, Responses.PROBLEM_JSON, new JsonObject()
                .put("detail", ModelInputs.detail(errors))
                .put("status", 422)
                .put("title", "Input validation failed")
                .put("invalid_fields", new JsonArray(new ArrayList<>(errors))));
    }

    /** How the client reached the simulator: the public base URL (or the request's own) plus the mount prefix. */
    String apiBase(RoutingContext ctx) {
        String base = settings.publicBaseUrl;
        return (base != null ? base : requestBase(ctx)) + settings.prefix;
    }

    private static String requestBase(RoutingContext ctx) {
        String host = ctx.request().getHeader("Host");
        if (host == null || host.isBlank()) {
            host = "localhost";
        }
        return ctx.request().scheme() + "://" + host;
    }
}
