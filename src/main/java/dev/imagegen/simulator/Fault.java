package dev.imagegen.simulator;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

import io.vertx.core.json.JsonObject;

/**
 * What the simulator does with one request, as decided by {@link SimulatorInterceptor#beforeRoute}:
 * serve it normally, answer with a canned response, hang, or drop the connection, optionally after
 * some latency. Immutable.
 */
public final class Fault {

    /** The action taken once the latency has passed. */
    public enum Action {
        /** Serve the request normally. */
        PROCEED,
        /** Answer with {@link #status()}, {@link #headers()} and {@link #body()}. */
        RESPOND,
        /** Never answer; the connection stays open until the client gives up or the simulator closes. */
        HANG,
        /** Close the TCP connection without an answer. */
        RESET
    }

    private static final Fault PROCEED = new Fault(Action.PROCEED, Duration.ZERO, 0, Map.of(), null);

    private final Action action;
    private final Duration latency;
    private final int status;
    private final Map<String, String> headers;
    private final String body;

    private Fault(Action action, Duration latency, int status, Map<String, String> headers, String body) {
        this.action = action;
        this.latency = latency;
        this.status = status;
        this.headers = headers;
        this.body = body;
    }

    /** Serve normally. */
    public static Fault proceed() {
        return PROCEED;
    }

    /** A canned answer. {@code headers} may be empty; {@code body} may be null (no body). */
    public static Fault respond(int status, Map<String, String> headers, String body) {
        return new Fault(Action.RESPOND, Duration.ZERO, status, Map.copyOf(new LinkedHashMap<>(headers)), body);
    }

    /** A canned {@code application/problem+json} answer. */
    public static Fault problem(int status, JsonObject body) {
        return respond(status, Map.of("Content-Type", "application/problem+json"), body.encode());
    }

    /** Never answer. */
    public static Fault hang() {
        return new Fault(Action.HANG, Duration.ZERO, 0, Map.of(), null);
    }

    /** Drop the connection without answering. */
    public static Fault reset() {
        return new Fault(Action.RESET, Duration.ZERO, 0, Map.of(), null);
    }

    /** This fault, acted on only after {@code latency}. {@code proceed().after(d)} just slows the route down. */
    public Fault after(Duration latency) {
        return new Fault(action, Objects.requireNonNull(latency), status, headers, body);
    }

    public Action action() {
        return action;
    }

    public Duration latency() {
        return latency;
    }

    public int status() {
        return status;
    }

    public Map<String, String> headers() {
        return headers;
    }

    public String body() {
        return body;
    }

    @Override
    public String toString() {
        return "Fault[" + action + (action == Action.RESPOND ? " " + status : "")
                + (latency.isZero() ? "" : " after " + latency) + "]";
    }
}
