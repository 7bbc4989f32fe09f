package dev.imagegen.simulator;

import static dev.imagegen.simulator.Responses.problem;
import static dev.imagegen.simulator.Responses.send;

import java.util.EnumMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import org.jboss.logging.Logger;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;

/**
 * Every simulated route goes through here: the call is counted, the {@link SimulatorInterceptor} may answer it
 * with a {@link Fault} (after an optional latency), and otherwise the route's handler runs. Hung connections are
 * remembered so that a reset or close can release them.
 */
final class FaultDispatcher {

    private static final Logger LOG = Logger.getLogger(FaultDispatcher.class);

    private final Vertx vertx;
    private final SimulatorSettings settings;
    private final Map<Route, AtomicInteger> calls = new EnumMap<>(Route.class);
    private final Set<HttpConnection> hung = ConcurrentHashMap.newKeySet();

    FaultDispatcher(Vertx vertx, SimulatorSettings settings) {
        this.vertx = vertx;
        this.settings = settings;
        for (Route r : Route.values()) {
            calls.put(r, new AtomicInteger());
        }
    }

    /** A Vert.x handler that runs {@code handler} for {@code route} unless a fault answers first. */
    io.vertx.core.Handler<RoutingContext> handler(Route route, Consumer<RoutingContext> handler) {
        return ctx -> dispatch(route, ctx, handler);
    }

    int calls(Route route) {
        return calls.get(route).get();
    }

    void resetCalls() {
        calls.values().forEach(c -> c.set(0));
    }

    void releaseHung() {
        for (Iterator<HttpConnection> it = hung.iterator(); it.hasNext();) {
            HttpConnection c = it.next();
            it.remove();
            c.close();
        }
    }

    private void dispatch(Route route, RoutingContext ctx, Consumer<RoutingContext> handler) {
        calls.get(route).incrementAndGet();
        Fault fault;
        try {
            fault = settings.interceptor.beforeRoute(route, ctx);
        } catch (RuntimeException e) {
            LOG.warnf(e, "Simulator interceptor failed on %s", route);
            fault = Fault.problem(500, problem("Internal Server Error", "interceptor failed: " + e.getMessage(), 500));
        }
        Fault f = fault == null ? Fault.proceed() : fault;
        if (f.latency().isZero() || f.latency().isNegative()) {
            act(route, ctx, handler, f);
        } else {
            vertx.setTimer(Math.max(1, f.latency().toMillis()), t -> act(route, ctx, handler, f));
        }
    }

    private void act(Route route, RoutingContext ctx, Consumer<RoutingContext> handler, Fault f) {
        HttpServerResponse resp = ctx.response();
        if (resp.closed() || resp.ended()) {
            return;
        }
        switch (f.action()) {
            case PROCEED -> proceed(route, ctx, handler);
            case RESPOND -> {
                resp.setStatusCode(f.status());
                f.headers().forEach(resp::putHeader);
                if (f.body() == null) {
                    resp.end();
                } else {
                    resp.end(f.body());
                }
            }
            case HANG -> {
                HttpConnection connection = ctx.request().connection();
                hung.add(connection);
                connection.closeHandler(v -> hung.remove(connection));
            }
            case RESET -> ctx.request().connection().close();
        }
    }

    private static void proceed(Route route, RoutingContext ctx, Consumer<RoutingContext> handler) {
        try {
            handler.accept(ctx);
        } catch (RuntimeException e) {
            LOG.errorf(e, "Simulator route %s failed", route);
            HttpServerResponse resp = ctx.response();
            if (!resp.ended() && !resp.headWritten()) {
                send(ctx, 500, Responses.PROBLEM_JSON, problem("Internal Server Error", String.valueOf(e.getMessage()), 500));
            }
        }
    }
}
