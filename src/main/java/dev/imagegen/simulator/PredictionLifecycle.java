package dev.imagegen.simulator;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;

/**
 * Moves predictions through {@code starting → processing → succeeded|failed|canceled|aborted} on timers, as
 * their {@link PredictionPlan} says, sends the webhooks of each step, and expires outputs after the retention.
 */
final class PredictionLifecycle {

    private final SimulatorSettings settings;
    private final PredictionBook book;
    private final SimTimers timers;
    private final WebhookSender webhooks;
    private final OutputFiles files;

    PredictionLifecycle(SimulatorSettings settings, PredictionBook book, SimTimers timers, WebhookSender webhooks,
            OutputFiles files) {
        this.settings = settings;
        this.book = book;
        this.timers = timers;
        this.webhooks = webhooks;
        this.files = files;
    }

    /** Starts a new prediction's course: the {@code start} webhook, its plan, and its {@code Cancel-After}. */
    void begin(SimPrediction p, PredictionPlan plan, java.time.Duration cancelAfter) {
        webhooks.send(p, "start");
        run(p, plan);
        if (cancelAfter != null) {
            timers.later(cancelAfter, () -> finish(p, "starting".equals(p.status()) ? "aborted" : "canceled", null));
        }
    }

    private void run(SimPrediction p, PredictionPlan plan) {
        switch (plan.outcome()) {
            case STALL_STARTING -> {
                // stays starting until canceled
            }
            case ABORT -> timers.later(plan.queueTime(), () -> finish(p, "aborted", null));
            default -> timers.later(plan.queueTime(), () -> {
                if (!p.start()) {
                    return;
                }
                webhooks.send(p, "logs");
                if (plan.outcome() != PredictionPlan.Outcome.STALL_PROCESSING) {
                    timers.later(plan.runTime(), () -> complete(p, plan));
                }
            });
        }
    }

    private void complete(SimPrediction p, PredictionPlan plan) {
        switch (plan.outcome()) {
            case FAIL -> finish(p, "failed", plan.error() == null ? "Prediction failed" : plan.error());
            case CANCEL -> finish(p, "canceled", null);
            default -> succeed(p);
        }
    }

    private void succeed(SimPrediction p) {
        List<String> urls = new ArrayList<>();
        for (int i = 0; i < p.numOutputs; i++) {
            urls.add(p.apiBase + "/files/" + p.id + "/out-" + i + "." + p.extension);
        }
        Future<List<String>> output;
        try {
            output = settings.interceptor.output(p.id, Collections.unmodifiableList(urls));
        } catch (RuntimeException e) {
            output = Future.failedFuture(e);
        }
        output.onComplete(ar -> {
            if (ar.failed()) {
                finish(p, "failed", String.valueOf(ar.cause().getMessage()));
            } else if (p.output(new JsonArray(new ArrayList<>(ar.result())))) {
                webhooks.send(p, "output");
                finish(p, "succeeded", null);
            }
        });
    }

    /** Ends {@code p} unless it has ended already: waiters answered, {@code completed} webhook, retention timer. */
    void finish(SimPrediction p, String status, String error) {
        List<Runnable> waiters = p.finish(status, error);
        if (waiters == null) {
            return;
        }
        book.finished(p);
        waiters.forEach(Runnable::run);
        webhooks.send(p, "completed");
        if ("succeeded".equals(status) && settings.outputsExpire()) {
            timers.later(settings.outputRetention, () -> expireOutputs(p.id));
        }
    }

    /** Removes a prediction's output as retention does; false when unknown or already removed. */
    boolean expireOutputs(String id) {
        SimPrediction p = book.find(id);
        if (p == null || !p.expire()) {
            return false;
        }
        files.forget(id);
        return true;
    }

    /** Whether rendered files of {@code p} may be cached (its output is still there and it was not reset away). */
    boolean keepFiles(SimPrediction p) {
        return !p.dataRemoved() && book.current(p);
    }
}
