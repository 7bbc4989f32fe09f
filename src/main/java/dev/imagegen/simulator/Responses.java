package dev.imagegen.simulator;

import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/** How the simulator writes JSON answers, problems and rate-limit headers. */
final class Responses {

    static final String JSON = "application/json";
    static final String PROBLEM_JSON = "application/problem+json";

    private Responses() {
    }

    static JsonObject problem(String title, String detail, int status) {
        return new JsonObject().put("title", title).put("detail", detail).put("status", status);
    }

    /** {@code ratelimit-remaining} as recorded (599 creates, 59999 prediction GETs, 2999 others) and {@code ratelimit-reset: 1}. */
    static void rateLimitHeaders(RoutingContext ctx, Route route) {
        String remaining = route == Route.CREATE ? "599" : route == Route.GET ? "59999" : "2999";
        ctx.response().putHeader("ratelimit-remaining", remaining).putHeader("ratelimit-reset", "1");
    }

    /** Replicate's 404 body, {@code {"detail":"The requested resource could not be found.","status":404}}. */
    static void notFound(RoutingContext ctx) {
        send(ctx, 404, PROBLEM_JSON, new JsonObject().put("detail", ReplicateSimulator.NOT_FOUND_DETAIL).put("status", 404));
    }

    /** Writes the answer unless the response is already over (the client left, or a fault answered). */
    static void send(RoutingContext ctx, int status, String contentType, JsonObject body) {
        HttpServerResponse resp = ctx.response();
        if (resp.closed() || resp.ended()) {
            return;
        }
        resp.setStatusCode(status).putHeader("Content-Type", contentType).end(body.encode());
    }
}
