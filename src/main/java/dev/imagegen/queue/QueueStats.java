package dev.imagegen.queue;

import java.time.Duration;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.quarkus.runtime.StartupEvent;
import io.quarkus.scheduler.Scheduled;
import io.smallrye.mutiny.Uni;

import dev.imagegen.metrics.Metrics;

/**
 * The queue depth gauges' cache: one cheap query ({@link JobReadRepository#counts()}, served by the
 * partial indexes) every {@code imagegen.metrics.queue-refresh-interval} (default 5 s), never one per
 * scrape. A refresh still running when the next is due is skipped. Until the first refresh the gauges
 * read zero; when the database does not answer they keep the last counts (the readiness check and
 * the logs report the outage).
 *
 * <p>It lives in the queue, which hands the counts to {@link Metrics} as gauge callbacks: metrics knows
 * nothing of the queue.
 */
@ApplicationScoped
public class QueueStats {

    private static final Logger LOG = Logger.getLogger(QueueStats.class);

    /** A refresh that takes longer than this is abandoned (the next one tries again). */
    static final Duration TIMEOUT = Duration.ofSeconds(10);

    @Inject
    JobReadRepository jobs;

    @Inject
    Metrics metrics;

    private volatile JobReadRepository.Counts counts = new JobReadRepository.Counts(0, 0, 0, 0, 0);
    private volatile boolean failing;

    void registerGauges(@Observes StartupEvent ev) {
        metrics.queueGauges(() -> counts.pending(), () -> counts.due(), () -> counts.processing(), () -> counts.stuck(),
                () -> counts.oldestDueSeconds());
    }

    @Scheduled(every = "${imagegen.metrics.queue-refresh-interval:5s}", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    Uni<Void> scheduled() {
        return refresh().replaceWithVoid().onFailure().recoverWithUni(e -> {
            // Once per outage, not once per tick.
            if (!failing) {
                failing = true;
                LOG.warnf("Refreshing the queue depth gauges failed (%s); they keep their last values", e.getMessage());
            }
            return Uni.createFrom().voidItem();
        });
    }

    /** Reads the counts now and caches them for the gauges. */
    public Uni<JobReadRepository.Counts> refresh() {
        return jobs.counts()
                .ifNoItem().after(TIMEOUT).fail()
                .invoke(c -> {
                    counts = c;
                    if (failing) {
                        failing = false;
                        LOG.info("Queue depth gauges are refreshed again");
                    }
                });
    }

    /** The cached counts (what the gauges show). */
    public JobReadRepository.Counts current() {
        return counts;
    }
}
