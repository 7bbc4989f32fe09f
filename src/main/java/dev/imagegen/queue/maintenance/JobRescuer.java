package dev.imagegen.queue.maintenance;

import java.time.Duration;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.quarkus.scheduler.Scheduled;
import io.smallrye.mutiny.Uni;

import dev.imagegen.metrics.Metrics;
import dev.imagegen.queue.JobNotifier;
import dev.imagegen.queue.JobRepository;

/**
 * Returns jobs whose lease expired (their replica died, or its heartbeats failed) to the queue, keeping
 * their attempt count, or fails them when no attempts remain. Any replica may run it: the statement skips
 * rows another holds. The expired lease is gone for good: the next claim gets a new one, so a run that
 * was still going somewhere can no longer record anything for the job.
 */
@ApplicationScoped
public class JobRescuer {

    private static final Logger LOG = Logger.getLogger(JobRescuer.class);

    static final int BATCH = 500;

    @Inject
    JobRepository jobs;

    @Inject
    JobNotifier notifier;

    @Inject
    Metrics metrics;

    @Inject
    dev.imagegen.config.ImagegenConfig config;

    @Scheduled(every = "${imagegen.worker.rescue-interval:30s}", delayed = "5s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    Uni<Void> scheduled() {
        if (!config.worker().enabled()) {
            return Uni.createFrom().voidItem();
        }
        return rescueNow().replaceWithVoid().onFailure().recoverWithUni(e -> {
            LOG.warnf("Rescuing expired jobs failed (%s); next run tries again", e.getMessage());
            return Uni.createFrom().voidItem();
        });
    }

    /** Rescues every expired lease now, in batches; answers how many jobs were returned or failed. */
    public Uni<Integer> rescueNow() {
        return jobs.rescueExpired(BATCH)
                .ifNoItem().after(Duration.ofSeconds(30)).fail()
                .flatMap(rows -> {
                    if (rows.isEmpty()) {
                        return Uni.createFrom().item(0);
                    }
                    long failed = rows.stream().filter(JobRepository.Rescued::failed).count();
                    for (JobRepository.Rescued r : rows) {
                        // The lease names the replica and the claim: the run that held it can write nothing more.
                        LOG.infof("job=%s lease %s expired: %s", r.id(), r.expiredLease(),
                                r.failed() ? "no attempts remain, failed" : "returned to the queue");
                    }
                    metrics.rescued(rows.size());
                    if (failed < rows.size()) {
                        notifier.jobsEnqueued();
                    }
                    if (rows.size() < BATCH) {
                        return Uni.createFrom().item(rows.size());
                    }
                    return rescueNow().map(more -> rows.size() + more);
                });
    }
}
