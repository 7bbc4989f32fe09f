package dev.imagegen.simulator;

import java.util.List;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/**
 * Extension points of {@link ReplicateSimulator}, for fault injection and observation. Every method
 * has a neutral default; implementations must be thread-safe and must not block (they are called on
 * event-loop threads).
 */
public interface SimulatorInterceptor {

    /** The neutral interceptor. */
    SimulatorInterceptor NONE = new SimulatorInterceptor() {
    };

    /**
     * Called for every request to a simulated route, after its body has been read and before
     * authentication. The request's body is available through {@code ctx.body()}.
     */
    default Fault beforeRoute(Route route, RoutingContext ctx) {
        return Fault.proceed();
    }

    /**
     * How a newly created prediction will run.
     *
     * @param predictionId the new id
     * @param model        {@code owner/name}
     * @param input        the input as sent (do not modify)
     * @param defaultPlan  what the simulator would do
     */
    default PredictionPlan plan(String predictionId, String model, JsonObject input, PredictionPlan defaultPlan) {
        return defaultPlan;
    }

    /**
     * The {@code output} of a prediction that succeeds; {@code urls} are the simulator's own file URLs.
     * A failed future fails the prediction with the failure's message.
     */
    default Future<List<String>> output(String predictionId, List<String> urls) {
        return Future.succeededFuture(urls);
    }

    /** The body of an output-file download ({@code png} is the rendered file). */
    default FileBody fileBody(String predictionId, int index, byte[] png) {
        return FileBody.of(png);
    }

    /** How many copies of one webhook message to send: 0 drops it, 2 sends it twice. */
    default int webhookCopies(String predictionId, String event) {
        return 1;
    }

    /**
     * How long to hold copy {@code copy} (0-based) of one webhook message before its first delivery attempt:
     * zero sends it at once. Different delays per message deliver them late and out of order.
     */
    default java.time.Duration webhookDelay(String predictionId, String event, int copy) {
        return java.time.Duration.ZERO;
    }

    /** Told about every webhook delivery attempt once it has an outcome. */
    default void webhookAttempted(WebhookAttempt attempt) {
    }
}
