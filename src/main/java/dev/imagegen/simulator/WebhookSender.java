package dev.imagegen.simulator;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.jboss.logging.Logger;

import dev.imagegen.webhook.StandardWebhooks;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;

/**
 * Webhook deliveries (replicate-api.md §9): the prediction JSON, signed the Standard Webhooks way;
 * only the {@code completed} message is retried, with the same {@code webhook-id} and a fresh timestamp.
 */
final class WebhookSender {

    private static final Logger LOG = Logger.getLogger(WebhookSender.class);

    private final SimulatorSettings settings;
    private final PredictionBook book;
    private final SimTimers timers;
    private final Ids ids;
    private final HttpClient client;

    WebhookSender(Vertx vertx, SimulatorSettings settings, PredictionBook book, SimTimers timers, Ids ids) {
        this.settings = settings;
        this.book = book;
        this.timers = timers;
        this.ids = ids;
        this.client = vertx.createHttpClient(new HttpClientOptions().setMaxPoolSize(16).setKeepAlive(false));
    }

    /** Sends {@code event} for {@code p} if it asked for it. */
    void send(SimPrediction p, String event) {
        if (p.webhook == null || !p.webhookEvents.contains(event) || !book.current(p)) {
            return;
        }
        int copies;
        try {
            copies = settings.interceptor.webhookCopies(p.id, event);
        } catch (RuntimeException e) {
            copies = 1;
        }
        byte[] body = p.toJson(true).encode().getBytes(StandardCharsets.UTF_8);
        String messageId = "msg_" + ids.next();
        for (int i = 0; i < copies; i++) {
            Duration delay;
            try {
                delay = settings.interceptor.webhookDelay(p.id, event, i);
            } catch (RuntimeException e) {
                delay = Duration.ZERO;
            }
            if (delay == null || delay.isZero() || delay.isNegative()) {
                deliver(p, event, messageId, body, 1);
            } else {
                timers.later(delay, () -> deliver(p, event, messageId, body, 1));
            }
        }
    }

    io.vertx.core.Future<Void> close() {
        return client.close();
    }

    private void deliver(SimPrediction p, String event, String messageId, byte[] body, int attempt) {
        long timestamp = Instant.now().getEpochSecond();
        String signature = StandardWebhooks.sign(settings.webhookSecret(), messageId, timestamp, body);
        long timeout = settings.webhookTimeout.toMillis();
        RequestOptions options;
        try {
            options = new RequestOptions()
                    .setMethod(HttpMethod.POST)
                    .setAbsoluteURI(p.webhook)
                    .setFollowRedirects(false)
                    .setConnectTimeout(timeout)
                    .setIdleTimeout(timeout)
                    .putHeader("Content-Type", Responses.JSON)
                    .putHeader("User-Agent", "imagegen-replicate-simulator")
                    .putHeader(StandardWebhooks.HEADER_ID, messageId)
                    .putHeader(StandardWebhooks.HEADER_TIMESTAMP, Long.toString(timestamp))
                    .putHeader(StandardWebhooks.HEADER_SIGNATURE, signature);
        } catch (RuntimeException e) {
            attempted(p, event, messageId, attempt, -1, "invalid webhook URL: " + e.getMessage(), body);
            return;
        }
        client.request(options)
                .compose(req -> req.send(Buffer.buffer(body)))
                .compose(resp -> resp.body().map(ignored -> resp.statusCode()))
                .onComplete(ar -> {
                    int status = ar.succeeded() ? ar.result() : -1;
                    String failure = ar.succeeded() ? null : String.valueOf(ar.cause().getMessage());
                    attempted(p, event, messageId, attempt, status, failure, body);
                });
    }

    private void attempted(SimPrediction p, String event, String messageId, int attempt, int status, String failure,
            byte[] body) {
        try {
            settings.interceptor.webhookAttempted(
                    new WebhookAttempt(p.id, event, p.webhook, messageId, attempt, status, failure, Instant.now()));
        } catch (RuntimeException e) {
            LOG.warnf(e, "Simulator interceptor failed on a webhook attempt for %s", p.id);
        }
        if (status >= 200 && status < 300) {
            return;
        }
        LOG.debugf("Simulator webhook %s for prediction %s, attempt %d: %s", event, p.id, attempt,
                failure != null ? failure : "HTTP " + status);
        List<Duration> backoff = settings.webhookRetryBackoff;
        if ("completed".equals(event) && attempt <= backoff.size() && book.current(p)) {
            timers.later(backoff.get(attempt - 1), () -> deliver(p, event, messageId, body, attempt + 1));
        }
    }
}
