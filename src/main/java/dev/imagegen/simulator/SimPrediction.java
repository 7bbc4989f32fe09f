package dev.imagegen.simulator;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * One simulated prediction. Its mutable state is guarded by the instance's monitor; transitions are
 * guarded so that a late timer can never move a terminal prediction.
 */
final class SimPrediction {

    static final Set<String> ALL_EVENTS = Set.of("start", "output", "logs", "completed");
    private static final Set<String> TERMINAL = Set.of("succeeded", "failed", "canceled", "aborted");

    final String id;
    final String model;
    final String version;
    final JsonObject input;
    final String prompt;
    final long seed;
    final int numOutputs;
    final int width;
    final int height;
    final String extension;
    final Instant createdAt;
    final String createdAtText;
    /** Public base URL plus mount prefix, captured at creation. */
    final String apiBase;
    final String webhook;
    final JsonArray webhookEventsFilter;
    final Set<String> webhookEvents;
    final Instant deadline;
    final String deadlineText;
    final long epoch;
    final AtomicInteger gets = new AtomicInteger();
    final AtomicInteger cancels = new AtomicInteger();

    private String status = "starting";
    private String logs = "";
    private JsonArray output;
    private String error;
    private Instant startedAt;
    private String startedAtText;
    private Instant completedAt;
    private String completedAtText;
    private boolean dataRemoved;
    private List<Runnable> waiters = new ArrayList<>();

    SimPrediction(String id, String model, String version, JsonObject input, long seed, int width, int height,
            String apiBase, String webhook, JsonArray webhookEventsFilter, Duration cancelAfter, long epoch) {
        this.id = id;
        this.model = model;
        this.version = version;
        this.input = input;
        this.prompt = input.getValue("prompt") instanceof String s ? s : "";
        this.seed = seed;
        this.numOutputs = ModelInputs.numOutputs(input);
        this.width = width;
        this.height = height;
        this.extension = "png";
        Timestamps.Stamp created = Timestamps.Stamp.of(Timestamps.now());
        this.createdAt = created.instant();
        this.createdAtText = created.text();
        this.apiBase = apiBase;
        this.webhook = webhook;
        this.webhookEventsFilter = webhookEventsFilter;
        if (webhookEventsFilter == null) {
            this.webhookEvents = ALL_EVENTS;
        } else {
            this.webhookEvents = Set.copyOf(webhookEventsFilter.stream().map(String::valueOf).toList());
        }
        Timestamps.Stamp due = cancelAfter == null ? null : Timestamps.Stamp.of(createdAt.plus(cancelAfter));
        this.deadline = due == null ? null : due.instant();
        this.deadlineText = due == null ? null : due.text();
        this.epoch = epoch;
    }

    synchronized String status() {
        return status;
    }

    synchronized boolean terminal() {
        return TERMINAL.contains(status);
    }

    synchronized boolean dataRemoved() {
        return dataRemoved;
    }

    /** Whether file {@code index} with {@code ext} can be downloaded now. */
    synchronized boolean servesFile(int index, String ext) {
        return !dataRemoved && output != null && index >= 0 && index < numOutputs && extension.equals(ext);
    }

    /** Whether file {@code index} exists or will exist (the prediction may still be running). */
    synchronized boolean hasFile(int index) {
        return !dataRemoved && index >= 0 && index < numOutputs;
    }

    /** {@code starting → processing}. */
    synchronized boolean start() {
        if (!"starting".equals(status)) {
            return false;
        }
        status = "processing";
        Timestamps.Stamp started = Timestamps.Stamp.of(Timestamps.now());
        startedAt = started.instant();
        startedAtText = started.text();
        logs += "Using seed: " + seed + "\n";
        return true;
    }

    /** Sets the output while still {@code processing} (Replicate's {@code output} event). */
    synchronized boolean output(JsonArray value) {
        if (!"processing".equals(status)) {
            return false;
        }
        output = value;
        logs += "Generated " + numOutputs + " image" + (numOutputs == 1 ? "" : "s") + " (" + width + "x" + height + ")\n";
        return true;
    }

    /**
     * Moves to a terminal status.
     *
     * @return the sync-mode waiters to wake, or null when the prediction was already terminal
     */
    synchronized List<Runnable> finish(String terminalStatus, String errorText) {
        if (terminal()) {
            return null;
        }
        Instant now = Timestamps.now();
        if (startedAt == null && !"aborted".equals(terminalStatus)) {
            // Canceled or failed while starting: Replicate shows started_at a hair before completed_at.
            Timestamps.Stamp started = Timestamps.Stamp.of(now);
            startedAt = started.instant();
            startedAtText = started.text();
            now = now.plusNanos(3_000);
        }
        status = terminalStatus;
        Timestamps.Stamp completed = Timestamps.Stamp.of(now);
        completedAt = completed.instant();
        completedAtText = completed.text();
        if (!"succeeded".equals(terminalStatus)) {
            output = null;
        }
        if ("failed".equals(terminalStatus)) {
            error = errorText;
            logs += "Error: " + errorText + "\n";
        }
        List<Runnable> toWake = waiters;
        waiters = new ArrayList<>();
        return toWake;
    }

    /** Registers a sync-mode waiter; false when already terminal (the caller answers at once). */
    synchronized boolean addWaiter(Runnable waiter) {
        if (terminal()) {
            return false;
        }
        waiters.add(waiter);
        return true;
    }

    /** Removes the output (retention passed): {@code data_removed:true}, {@code output:null}. */
    synchronized boolean expire() {
        if (dataRemoved) {
            return false;
        }
        dataRemoved = true;
        output = null;
        return true;
    }

    /** The prediction object, as {@code GET /v1/predictions/{id}} answers it. */
    synchronized JsonObject toJson(boolean withSource) {
        JsonObject j = new JsonObject()
                .put("id", id)
                .put("model", model)
                .put("version", version)
                .put("input", input.copy())
                .put("logs", logs)
                .put("output", output == null ? null : output.copy())
                .put("data_removed", dataRemoved)
                .put("error", error)
                .put("status", status)
                .put("created_at", createdAtText);
        if (startedAtText != null) {
            j.put("started_at", startedAtText);
        }
        if (completedAtText != null) {
            j.put("completed_at", completedAtText);
        }
        j.put("urls", new JsonObject()
                .put("cancel", apiBase + "/v1/predictions/" + id + "/cancel")
                .put("get", apiBase + "/v1/predictions/" + id)
                .put("web", "https://replicate.com/p/" + id));
        if (completedAt != null) {
            JsonObject metrics = new JsonObject();
            if (startedAt != null) {
                metrics.put("predict_time", seconds(startedAt, completedAt));
            }
            metrics.put("total_time", seconds(createdAt, completedAt));
            j.put("metrics", metrics);
        }
        if (deadlineText != null) {
            j.put("deadline", deadlineText);
        }
        if (webhook != null) {
            j.put("webhook", webhook);
            j.put("webhook_events_filter",
                    webhookEventsFilter != null ? webhookEventsFilter.copy() : new JsonArray(List.of("start", "output", "logs", "completed")));
        }
        if (withSource) {
            j.put("source", "api");
        }
        return j;
    }

    private static double seconds(Instant from, Instant to) {
        long nanos = Duration.between(from, to).toNanos();
        return Math.max(0, nanos) / 1e9;
    }
}
