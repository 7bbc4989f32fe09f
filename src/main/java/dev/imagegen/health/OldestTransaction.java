package dev.imagegen.health;

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
 * The age of the oldest transaction open in the service's database, for the gauge
 * {@value Metrics#DB_OLDEST_TRANSACTION}: one cheap read of {@code pg_stat_activity} every
 * {@code imagegen.metrics.transaction-refresh-interval} (default 15 s), never one per scrape. A refresh
 * still running when the next is due is skipped; when the database does not answer the gauge keeps its
 * last value (readiness reports the outage).
 *
 * <p>Why: a transaction held open beside the queue (a forgotten {@code BEGIN} in a console, a stuck batch
 * job) keeps every row version the queue deletes or updates from being vacuumed, so each claim scans more
 * dead tuples as long as it lasts. The service cannot end someone else's transaction; it shows its age,
 * warns in the log once it passes {@link #WARN_AFTER} (naming the session's pid, application and state), and
 * the PrometheusRule alerts on it (ImagegenLongTransaction).
 */
@ApplicationScoped
public class OldestTransaction {

    private static final Logger LOG = Logger.getLogger(OldestTransaction.class);

    /** The log warns once per session whose transaction is older than this (the alert's threshold too). */
    static final Duration WARN_AFTER = Duration.ofMinutes(5);
    static final Duration TIMEOUT = Duration.ofSeconds(5);

    @Inject
    HealthRepository repository;

    @Inject
    Metrics metrics;

    private volatile HealthRepository.OpenTransaction oldest = HealthRepository.OpenTransaction.NONE;
    private volatile int warnedPid;
    private volatile boolean failing;

    void registerGauge(@Observes StartupEvent ev) {
        metrics.oldestTransactionGauge(() -> oldest.age());
    }

    @Scheduled(every = "${imagegen.metrics.transaction-refresh-interval:15s}", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    Uni<Void> scheduled() {
        return refresh().replaceWithVoid().onFailure().recoverWithUni(e -> {
            if (!failing) {
                failing = true;
                LOG.warnf("Reading the oldest open transaction failed (%s); its gauge keeps its last value", e.getMessage());
            }
            return Uni.createFrom().voidItem();
        });
    }

    /** Reads the oldest open transaction now and caches it for the gauge. */
    public Uni<HealthRepository.OpenTransaction> refresh() {
        return repository.oldestTransaction()
                .ifNoItem().after(TIMEOUT).fail()
                .invoke(t -> {
                    oldest = t;
                    failing = false;
                    if (t.age() >= WARN_AFTER.toSeconds() && t.pid() != warnedPid) {
                        warnedPid = t.pid();
                        LOG.warnf("A transaction has been open in the database for %.0f s (pid %d, application '%s', state %s): "
                                + "until it ends, vacuum cannot remove the queue's dead rows and claims slow down",
                                t.age(), t.pid(), t.application(), t.state());
                    }
                });
    }

    /** The cached age in seconds (what the gauge shows). */
    public double seconds() {
        return oldest.age();
    }
}
