package dev.imagegen.simulator;

import static dev.imagegen.simulator.Responses.problem;
import static dev.imagegen.simulator.Responses.rateLimitHeaders;
import static dev.imagegen.simulator.Responses.send;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.List;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/**
 * {@code GET /v1/predictions/{id}}, {@code POST /v1/predictions/{id}/cancel}, {@code GET /v1/predictions}
 * (newest first, {@value #PAGE_SIZE} per page) and {@code GET /v1/webhooks/default/secret}.
 */
final class ReadRoutes {

    static final int PAGE_SIZE = 100;

    private final SimulatorSettings settings;
    private final PredictionBook book;
    private final PredictionLifecycle lifecycle;
    private final RequestChecks checks;

    ReadRoutes(SimulatorSettings settings, PredictionBook book, PredictionLifecycle lifecycle, RequestChecks checks) {
        this.settings = settings;
        this.book = book;
        this.lifecycle = lifecycle;
        this.checks = checks;
    }

    void get(RoutingContext ctx) {
        SimPrediction p = authorizedPrediction(ctx, Route.GET);
        if (p == null) {
            return;
        }
        p.gets.incrementAndGet();
        rateLimitHeaders(ctx, Route.GET);
        send(ctx, 200, Responses.JSON, p.toJson(true));
    }

    void cancel(RoutingContext ctx) {
        SimPrediction p = authorizedPrediction(ctx, Route.CANCEL);
        if (p == null) {
            return;
        }
        p.cancels.incrementAndGet();
        lifecycle.finish(p, "canceled", null);
        rateLimitHeaders(ctx, Route.CANCEL);
        send(ctx, 200, Responses.JSON, p.toJson(true));
    }

    /** The prediction named by the path; null once a 401 or 404 has been answered. */
    private SimPrediction authorizedPrediction(RoutingContext ctx, Route route) {
        if (!checks.authorized(ctx, route)) {
            return null;
        }
        SimPrediction p = book.find(ctx.pathParam("id"));
        if (p == null) {
            RequestChecks.notFound(ctx, true);
        }
        return p;
    }

    void list(RoutingContext ctx) {
        if (!checks.authorized(ctx, Route.LIST)) {
            return;
        }
        Instant after;
        Instant before;
        int offset;
        try {
            after = instantParam(ctx, "created_after");
            before = instantParam(ctx, "created_before");
            String cursor = ctx.queryParams().get("cursor");
            offset = cursor == null ? 0 : Integer.parseInt(cursor);
        } catch (DateTimeParseException | NumberFormatException e) {
            send(ctx, 400, Responses.PROBLEM_JSON, problem("Bad Request", "Invalid query parameter: " + e.getMessage(), 400));
            return;
        }
        List<SimPrediction> matching = book.newestFirst().stream()
                .filter(p -> after == null || p.createdAt.isAfter(after))
                .filter(p -> before == null || p.createdAt.isBefore(before))
                .toList();
        int from = Math.max(0, Math.min(offset, matching.size()));
        int to = Math.min(matching.size(), from + PAGE_SIZE);
        JsonArray results = new JsonArray();
        matching.subList(from, to).forEach(p -> results.add(p.toJson(true)));
        String self = checks.apiBase(ctx) + "/v1/predictions";
        String filters = (after == null ? "" : "&created_after=" + ctx.queryParams().get("created_after"))
                + (before == null ? "" : "&created_before=" + ctx.queryParams().get("created_before"));
        JsonObject page = new JsonObject()
                .put("next", to < matching.size() ? self + "?cursor=" + to + filters : null)
                .put("previous", from > 0 ? self + "?cursor=" + Math.max(0, from - PAGE_SIZE) + filters : null)
                .put("results", results);
        rateLimitHeaders(ctx, Route.LIST);
        send(ctx, 200, Responses.JSON, page);
    }

    void secret(RoutingContext ctx) {
        if (!checks.authorized(ctx, Route.WEBHOOK_SECRET)) {
            return;
        }
        rateLimitHeaders(ctx, Route.WEBHOOK_SECRET);
        send(ctx, 200, Responses.JSON, new JsonObject().put("key", settings.webhookSecret()));
    }

    private static Instant instantParam(RoutingContext ctx, String name) {
        String v = ctx.queryParams().get(name);
        return v == null || v.isBlank() ? null : OffsetDateTime.parse(v.trim()).toInstant();
    }
}
