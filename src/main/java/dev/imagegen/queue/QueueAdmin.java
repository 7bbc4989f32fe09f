package dev.imagegen.queue;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.smallrye.mutiny.Uni;

import dev.imagegen.api.ApiException;
import dev.imagegen.api.Cursor;
import dev.imagegen.api.Page;
import dev.imagegen.config.ImagegenConfig;

/** The operators' view of the queue: health with alerts, listing, retry. */
@ApplicationScoped
public class QueueAdmin {

    @Inject
    JobRepository jobs;

    @Inject
    JobReadRepository reads;

    @Inject
    JobNotifier notifier;

    @Inject
    ImagegenConfig config;

    @Inject
    ClaimPause pause;

    public Uni<QueueHealth> health() {
        return reads.health().map(h -> {
            List<QueueHealth.Alert> alerts = new ArrayList<>();
            var t = config.alerts();
            if (h.pendingJobs() > t.pendingThreshold()) {
                alerts.add(new QueueHealth.Alert("high_queue_depth", "warning",
                        h.pendingJobs() + " jobs are pending (threshold " + t.pendingThreshold() + ").",
                        h.pendingJobs(), t.pendingThreshold()));
            }
            if (h.stuckJobs() > t.stuckThreshold()) {
                alerts.add(new QueueHealth.Alert("stuck_jobs", "critical",
                        h.stuckJobs() + " running jobs have an expired lease (threshold " + t.stuckThreshold() + ").",
                        h.stuckJobs(), t.stuckThreshold()));
            }
            if (h.errorRateLastHour() > t.errorRateThreshold()) {
                alerts.add(new QueueHealth.Alert("high_error_rate", "warning",
                        h.errorRateLastHour() + " % of the last hour's finished jobs failed (threshold " + t.errorRateThreshold() + " %).",
                        h.errorRateLastHour(), t.errorRateThreshold()));
            }
            pause.state().ifPresent(p -> alerts.add(claimingPaused(p)));
            return new QueueHealth(h.pendingJobs(), h.processingJobs(), h.completedLastHour(), h.failedLastHour(),
                    h.avgProcessingTimeSeconds(), h.stuckJobs(), h.errorRateLastHour(), alerts);
        });
    }

    /**
     * This replica stopped claiming because Replicate refused the account: value = refusals since the last
     * success. Per replica (in memory), as the pause is: the Prometheus rule covers every replica.
     */
    static QueueHealth.Alert claimingPaused(ClaimPause.State p) {
        String when = p.paused() ? "paused until " + p.pausedUntil() + " (window " + p.window().toSeconds() + " s)"
                : "probing with one job at a time";
        return new QueueHealth.Alert("claiming_paused", "critical",
                "This replica stopped claiming jobs [" + p.reason() + "]. Claiming is " + when
                        + " until a job succeeds; no job is failed or spends an attempt meanwhile. Check REPLICATE_API_TOKEN"
                        + " and the Replicate account's credit.",
                p.refusals(), 0);
    }

    public Uni<Page<Job>> list(JobStatus status, String jobType, Cursor cursor, int limit) {
        return reads.list(status, jobType, cursor, limit + 1).map(list -> {
            boolean more = list.size() > limit;
            List<Job> page = more ? list.subList(0, limit) : list;
            String next = more ? Cursor.of(page.get(limit - 1).createdAt(), page.get(limit - 1).id()).encode() : null;
            return new Page<>(page, next);
        });
    }

    /** A failed or canceled job back to pending with its attempts reset; any other state is a 409. */
    public Uni<Job> retry(UUID id) {
        return jobs.retryNow(id).flatMap(job -> {
            if (job != null) {
                notifier.jobsEnqueued();
                return Uni.createFrom().item(job);
            }
            return reads.findById(id).map(existing -> {
                if (existing == null) {
                    throw ApiException.notFound("Job " + id);
                }
                throw ApiException.conflict("Only failed or canceled jobs can be retried; this one is " + existing.status().db() + ".");
            });
        });
    }
}
