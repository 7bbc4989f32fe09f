package dev.imagegen.queue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.pgclient.pubsub.PgSubscriber;
import io.vertx.pgclient.PgConnectOptions;

import dev.imagegen.config.ImagegenConfig;

/**
 * LISTEN/NOTIFY for the whole replica, on one dedicated connection that reconnects by itself.
 *
 * <ul>
 * <li>{@link #jobsEnqueued()} wakes this replica's worker in-process at once, and wakes the other
 * replicas with at most one {@code NOTIFY imagegen_jobs} per debounce window (never one per row:
 * NOTIFY serialises commits).</li>
 * <li>Notifications on {@code imagegen_jobs} from other replicas, and every (re)connection, wake the worker.</li>
 * <li>Notifications on {@code imagegen_generation_status} (sent by the schema's trigger) are fanned out
 * to in-process listeners, such as the event streams.</li>
 * </ul>
 * Notifications only accelerate: the worker's scheduler tick claims anyway.
 */
@ApplicationScoped
public class JobNotifier {

    private static final Logger LOG = Logger.getLogger(JobNotifier.class);

    public static final String STATUS_CHANNEL = "imagegen_generation_status";

    /** A webhook reported a prediction finished: the replica running its job wakes it. */
    public static final String PREDICTION_CHANNEL = "imagegen_predictions";

    private static final Duration PING_INTERVAL = Duration.ofSeconds(30);
    private static final Duration PING_TIMEOUT = Duration.ofSeconds(10);
    /** How often {@link #watch()} looks whether the LISTEN connection is still there. */
    private static final Duration WATCH_INTERVAL = Duration.ofSeconds(1);

    @Inject
    Vertx vertx;

    @Inject
    JobRepository jobs;

    @Inject
    ReplicaId replica;

    @Inject
    ImagegenConfig config;

    @ConfigProperty(name = "quarkus.datasource.reactive.url")
    Optional<String> url;

    @ConfigProperty(name = "quarkus.datasource.username")
    Optional<String> username;

    @ConfigProperty(name = "quarkus.datasource.password")
    Optional<String> password;

    private final List<Runnable> wakeListeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<List<UUID>>> statusListeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<String>> predictionListeners = new CopyOnWriteArrayList<>();
    private final AtomicBoolean notifyScheduled = new AtomicBoolean();
    private volatile boolean listening;
    private volatile boolean stopped;
    private PgSubscriber subscriber;
    private long pingTimer = -1;
    private long watchTimer = -1;
    private volatile boolean lost;

    void start(@jakarta.enterprise.event.Observes StartupEvent ev) {
        if (url.isEmpty()) {
            LOG.warn("No reactive datasource URL: LISTEN/NOTIFY disabled; the worker relies on its scheduler tick");
            return;
        }
        PgConnectOptions options = PgConnectOptions.fromUri(url.get());
        username.ifPresent(options::setUser);
        password.ifPresent(options::setPassword);
        options.setMetricsName("imagegen-listen");
        subscriber = PgSubscriber.subscriber(vertx, options)
                .reconnectPolicy(retries -> stopped ? -1L : Math.min(200L * (1L << Math.min(retries, 6)), 10_000L));
        subscriber.channel(JobRepository.JOBS_CHANNEL)
                .handler(payload -> {
                    if (!replica.value().equals(payload)) {
                        wakeLocal();
                    }
                })
                .subscribeHandler(() -> {
                    // Called after every (re)connection, once LISTEN is in place again.
                    listening = true;
                    if (lost) {
                        lost = false;
                        LOG.info("LISTEN connection re-established; notifications resume");
                    }
                    wakeLocal();
                });
        subscriber.channel(STATUS_CHANNEL).handler(this::statusChanged);
        subscriber.channel(PREDICTION_CHANNEL).handler(id -> predictionListeners.forEach(l -> l.accept(id)));
        subscriber.closeHandler(() -> {
            listening = false;
            if (!stopped) {
                LOG.warn("LISTEN connection lost; reconnecting (the scheduler tick keeps the queue moving)");
            }
        });
        connect();
        pingTimer = vertx.setPeriodic(PING_INTERVAL.toMillis(), id -> ping());
        watchTimer = vertx.setPeriodic(WATCH_INTERVAL.toMillis(), id -> watch());
    }

    /**
     * The subscriber reconnects by itself when its connection drops (the database restarted, the session was
     * terminated), and calls its close handler only when it gives up for good, which its policy here never
     * does. So a lost connection is seen here: no actual connection means nothing is listening until the
     * subscribe handler runs again. Without this, {@link #listening()} stayed true through a whole outage:
     * readiness reported {@code listening: true} and the event streams never switched to their fallback
     * polling, nor re-read everything once the connection was back.
     */
    private void watch() {
        if (stopped || subscriber == null || !listening) {
            return;
        }
        if (subscriber.getDelegate().actualConnection() == null) {
            listening = false;
            lost = true;
            LOG.warn("LISTEN connection lost; reconnecting (the scheduler tick keeps the queue moving)");
        }
    }

    private void connect() {
        subscriber.connect()
                .ifNoItem().after(Duration.ofSeconds(15)).fail()
                .subscribe().with(
                        ok -> {
                            listening = true;
                            LOG.debug("LISTEN connection established");
                        },
                        err -> {
                            listening = false;
                            if (!stopped) {
                                LOG.warnf("LISTEN connection failed (%s); retrying", err.getMessage());
                                vertx.setTimer(2_000, id -> connect());
                            }
                        });
    }

    /** A connection can die silently (a NAT drops it): a periodic query proves it alive or closes it. */
    private void ping() {
        if (subscriber == null || subscriber.closed() || stopped) {
            return;
        }
        var conn = subscriber.actualConnection();
        if (conn == null) {
            return;
        }
        conn.query("SELECT 1").execute()
                .ifNoItem().after(PING_TIMEOUT).fail()
                .subscribe().with(ok -> {
                }, err -> {
                    LOG.warnf("LISTEN connection did not answer a ping (%s); reconnecting", err.getMessage());
                    listening = false;
                    conn.close().subscribe().with(x -> {
                    }, e -> {
                    });
                });
    }

    /** Called after an enqueue commits. */
    public void jobsEnqueued() {
        wakeLocal();
        if (notifyScheduled.compareAndSet(false, true)) {
            long delay = Math.max(1, config.worker().notifyDebounce().toMillis());
            vertx.setTimer(delay, id -> jobs.notifyJobs(replica.value())
                    .ifNoItem().after(Duration.ofSeconds(5)).fail()
                    .onTermination().invoke(() -> notifyScheduled.set(false))
                    .subscribe().with(ok -> {
                    }, err -> LOG.debugf("NOTIFY failed (%s); other replicas will claim at their next tick", err.getMessage())));
        }
    }

    /** Registers a worker wake-up. */
    public void onWake(Runnable listener) {
        wakeListeners.add(listener);
    }

    /** Registers a listener for generation status changes (ids of the changed generations). */
    public Runnable onStatusChange(Consumer<List<UUID>> listener) {
        statusListeners.add(listener);
        return () -> statusListeners.remove(listener);
    }

    /** Registers a listener for predictions reported finished by a webhook on any replica. */
    public void onPredictionFinished(Consumer<String> listener) {
        predictionListeners.add(listener);
    }

    public boolean listening() {
        return listening;
    }

    private void wakeLocal() {
        for (Runnable r : wakeListeners) {
            try {
                r.run();
            } catch (RuntimeException e) {
                LOG.warn("Worker wake-up failed", e);
            }
        }
    }

    private void statusChanged(String payload) {
        if (payload == null || payload.isEmpty() || statusListeners.isEmpty()) {
            return;
        }
        List<UUID> ids = new ArrayList<>();
        for (String s : payload.split(",")) {
            try {
                ids.add(UUID.fromString(s));
            } catch (IllegalArgumentException e) {
                // not ours
            }
        }
        for (Consumer<List<UUID>> l : statusListeners) {
            try {
                l.accept(ids);
            } catch (RuntimeException e) {
                LOG.warn("Status listener failed", e);
            }
        }
    }

    void stop(@jakarta.enterprise.event.Observes ShutdownEvent ev) {
        close();
    }

    @PreDestroy
    void close() {
        stopped = true;
        if (pingTimer >= 0) {
            vertx.cancelTimer(pingTimer);
            pingTimer = -1;
        }
        if (watchTimer >= 0) {
            vertx.cancelTimer(watchTimer);
            watchTimer = -1;
        }
        if (subscriber != null && !subscriber.closed()) {
            subscriber.close().subscribe().with(x -> {
            }, e -> {
            });
        }
    }
}
