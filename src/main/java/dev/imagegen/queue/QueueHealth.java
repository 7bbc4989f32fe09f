package dev.imagegen.queue;

import java.util.List;

import io.quarkus.runtime.annotations.RegisterForReflection;

/** The {@code queue_health} view plus stuck jobs, the error rate and the alerts over their thresholds. */
@RegisterForReflection
public record QueueHealth(long pendingJobs, long processingJobs, long completedLastHour, long failedLastHour,
        Double avgProcessingTimeSeconds, long stuckJobs, double errorRateLastHour, List<Alert> alerts) {

    /** One alert over its threshold. */
    @RegisterForReflection
    public record Alert(String name, String severity, String message, double value, double threshold) {
    }
}
