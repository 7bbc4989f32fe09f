package dev.imagegen.simulator;

import java.time.Instant;

/**
 * One webhook delivery attempt made by the simulator.
 *
 * @param predictionId the prediction
 * @param event        {@code start}, {@code output}, {@code logs} or {@code completed}
 * @param url          the target
 * @param messageId    the {@code webhook-id} (the same on every retry of one message)
 * @param attempt      1 for the first try
 * @param statusCode   the receiver's HTTP status, or -1 when no answer came
 * @param failure      why no answer came, or null
 * @param at           when the attempt finished
 */
public record WebhookAttempt(String predictionId, String event, String url, String messageId, int attempt, int statusCode,
        String failure, Instant at) {

    public boolean delivered() {
        return statusCode >= 200 && statusCode < 300;
    }
}
