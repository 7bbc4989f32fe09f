package dev.imagegen.generation;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;


import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.Vertx;

import dev.imagegen.api.ApiException;
import dev.imagegen.api.ProblemType;
import dev.imagegen.auth.Caller;
import dev.imagegen.config.ImagegenConfig;
import dev.imagegen.metrics.Metrics;
import dev.imagegen.queue.JobNotifier;

/**
 * Live status of generations for the event streams ({@code GET /v1/generations/{id}/events}).
 *
 * <p>One replica-wide fan-out, never a database connection per client:
 * <ul>
 * <li><b>Notifications.</b> The schema's trigger announces changed generation ids on
 * {@code imagegen_generation_status}; {@link JobNotifier}'s single LISTEN connection hands them here.
 * Ids nobody follows are ignored.</li>
 * <li><b>Batched re-reads.</b> Ids to re-read collect in one "dirty" set. One read round at a time
 * re-reads up to {@value #MAX_BATCH} of them with one generations query plus one images query, however
 * many followers and ids there are, and hands the same serialised JSON to every follower of an id.
 * Because rounds never overlap, a later round always sees a newer snapshot than an earlier one: a
 * follower never goes back to an older state. Changes that come faster than a round (a few
 * milliseconds) are coalesced: the stream shows the state the round read.</li>
 * <li><b>No missed change.</b> A follower is registered (and its id marked dirty) before its first
 * state is read, and that first state comes from a round that starts after the registration. A
 * change committed before that round is in it; one committed after it is announced and re-read.</li>
 * <li><b>Polling guarantees.</b> While the LISTEN connection is down, every followed id is re-read every
 * {@value #FALLBACK_POLL_SECONDS} s (and once more when it is back); while it is up, every
 * {@value #SAFETY_POLL_SECONDS} s, so that a lost notification only adds latency.</li>
 * <li><b>Bounded per follower.</b> A follower holds only the latest snapshot (shared with the other
 * followers of its id) and one pending signal: a slow client skips intermediate states and gets the
 * latest; a terminal state is never skipped. Identical consecutive statuses are sent once. A stream
 * ends after a terminal state, after {@link #MAX_LIFETIME}, when the client goes away (it is
 * unsubscribed at once), or on shutdown; an idle stream gets a keep-alive after {@link #KEEP_ALIVE}
 * without an event.</li>
 * <li><b>Capped.</b> At most {@code imagegen.limits.max-streams-per-replica} streams on this replica (one more
 * is refused before anything is read) and {@code imagegen.limits.max-streams-per-user} per generation owner
 * (checked once the owner is known; operators are exempt). A refused stream holds nothing.</li>
 * <li><b>Resumable.</b> Every state event has an id (its {@code updated_at} and status); a client that
 * reconnects, with or without {@code Last-Event-ID}, gets the current state at once as its first event.</li>
 * </ul>
 */
@ApplicationScoped
public class GenerationEvents {

    private static final Logger LOG = Logger.getLogger(GenerationEvents.class);

    /** An idle stream gets a keep-alive comment after this long without an event (the contract says ≤ 15 s). */
    public static final Duration KEEP_ALIVE = Duration.ofSeconds(10);

    /** A stream is closed after this long; the client reconnects (EventSource does) and gets the current state. */
    public static final Duration MAX_LIFETIME = Duration.ofHours(1);

    /** Ids re-read per round at most (one {@code = ANY($1)} query each for generations and images). */
    static final int MAX_BATCH = 500;

    static final long FALLBACK_POLL_SECONDS = 5;
    static final long SAFETY_POLL_SECONDS = 30;

    private static final Duration TICK = Duration.ofSeconds(1);
    private static final Duration FIRST_STATE_TIMEOUT = Duration.ofSeconds(15);
    private static final Duration MAX_RETRY_DELAY = Duration.ofSeconds(10);

    /** How long a client refused by the per-user cap is told to wait (streams last up to an hour). */
    static final Duration USER_CAP_RETRY_AFTER = Duration.ofSeconds(30);
    /** How long a client refused by the replica cap is told to wait (it may reach another replica sooner). */
    static final Duration REPLICA_CAP_RETRY_AFTER = Duration.ofSeconds(5);

    /** What a stream carries: a generation state (its status, API JSON and SSE id), or a keep-alive. */
    public record Event(GenerationStatus status, String json, String id) {

        static final Event KEEP_ALIVE = new Event(null, null, null);

        public boolean keepAlive() {
            return json == null;
        }
    }

    @Inject
    SnapshotReader reader;

    @Inject
    EventLinks links;

    @Inject
    JobNotifier notifier;

    @Inject
    Vertx vertx;

    @Inject
    Metrics metrics;

    @Inject
    ImagegenConfig config;

    /** The stream caps, set from the configuration at start-up; package-private so that a test can change them. */
    final StreamCaps caps = new StreamCaps(Integer.MAX_VALUE, Integer.MAX_VALUE);

    /** Keep-alive threshold; package-private so that a test can shorten it. */
    volatile Duration keepAliveAfter = KEEP_ALIVE;

    /** Re-read of every followed id while LISTEN is up; package-private so that a test can shorten it. */
    volatile Duration safetyPoll = Duration.ofSeconds(SAFETY_POLL_SECONDS);

    private final Map<UUID, Set<EventFollower>> followers = new ConcurrentHashMap<>();
    private final AtomicLong rounds = new AtomicLong();

    /** Guards {@link #dirty}, {@link #reading} and {@link #retryDelay}. */
    private final Object lock = new Object();
    private final Set<UUID> dirty = new LinkedHashSet<>();
    private boolean reading;
    private Duration retryDelay = Duration.ZERO;

    private long tickTimer = -1;
    /** Only touched by {@link #tick()} (one timer). */
    private long lastFullRead = System.nanoTime();
    private boolean wasListening = true;
    private volatile boolean stopped;
    private Runnable unlisten = () -> {
    };

    void start(@Observes StartupEvent ev) {
        caps.maxPerUser = config.limits().maxStreamsPerUser();
        caps.maxPerReplica = config.limits().maxStreamsPerReplica();
        metrics.streamsOpenGauge(caps::open);
        unlisten = notifier.onStatusChange(this::statusChanged);
        tickTimer = vertx.setPeriodic(TICK.toMillis(), id -> tick());
    }

    /**
     * Follows one generation for a bearer caller. The {@code Uni} resolves once its current state has been
     * read: a 404 {@link ApiException} when it does not exist or the caller may not see it, a
     * {@link StreamLimitException} when a cap is reached, else a stream that starts with that state (or a
     * newer one) and ends after a terminal state.
     */
    public Uni<Multi<Event>> follow(Caller caller, UUID id) {
        return follow(id, g -> g.visibleTo(caller), caller.operator());
    }

    /**
     * Follows one generation through its signed events link ({@code expires}, {@code sig}; a link to another id,
     * tampered or expired is a 401): the link grants that generation and nothing else, and the stream counts
     * against the generation owner's cap.
     */
    public Uni<Multi<Event>> followByLink(UUID id, String expires, String sig) {
        if (!links.verify(id, expires, sig)) {
            throw ApiException.unauthorized("This events link is invalid or has expired; GET /v1/generations/"
                    + id + " gives a fresh events_url.");
        }
        return follow(id, g -> true, false);
    }

    private Uni<Multi<Event>> follow(UUID id, Predicate<Generation> mayView, boolean exempt) {
        if (stopped) {
            return Uni.createFrom().failure(new ApiException(ProblemType.UNAVAILABLE, "The service is shutting down."));
        }
        if (!caps.admit()) {
            metrics.streamRefused(StreamLimitException.Cap.REPLICA.tag);
            return Uni.createFrom().failure(new StreamLimitException(StreamLimitException.Cap.REPLICA,
                    "This replica holds its maximum of " + caps.maxPerReplica + " event streams; retry shortly.",
                    REPLICA_CAP_RETRY_AFTER));
        }
        EventFollower f = new EventFollower(id, io.vertx.core.Vertx.currentContext(), caps, metrics, this::remove);
        // Atomic with remove(): a set emptied and dropped concurrently is never added to.
        followers.compute(id, (k, set) -> {
            Set<EventFollower> s = set != null ? set : ConcurrentHashMap.newKeySet();
            s.add(f);
            return s;
        });
        markDirty(List.of(id));
        return Uni.createFrom().completionStage(f.first)
                .ifNoItem().after(FIRST_STATE_TIMEOUT).failWith(() -> new ApiException(ProblemType.UNAVAILABLE,
                        "The generation could not be read in time; retry."))
                .onFailure().invoke(() -> remove(f))
                .onCancellation().invoke(() -> remove(f))
                .map(first -> {
                    if (first.generation() == null || !mayView.test(first.generation())) {
                        remove(f);
                        throw ApiException.notFound("Generation " + id);
                    }
                    String owner = first.generation().userId();
                    if (!exempt && !Caller.OPERATOR_OWNER.equals(owner) && !f.holdOwnerSlot(owner)) {
                        remove(f);
                        metrics.streamRefused(StreamLimitException.Cap.USER.tag);
                        throw new StreamLimitException(StreamLimitException.Cap.USER, "You have "
                                + caps.maxPerUser + " event streams open, the most allowed; close one or retry later.",
                                USER_CAP_RETRY_AFTER);
                    }
                    return f.stream();
                });
    }

    /** Streams open on this replica now (admitted, not yet ended). */
    public int openStreams() {
        return caps.open();
    }

    /** Followers registered now, on this replica (for tests and the benchmark). */
    public int followerCount() {
        int n = 0;
        for (Set<EventFollower> s : followers.values()) {
            n += s.size();
        }
        return n;
    }

    /** Read rounds run so far (each is one generations query and one images query, whatever its size). */
    public long readRounds() {
        return rounds.get();
    }

    // ---------------------------------------------------------------- notifications and reads

    private void statusChanged(List<UUID> ids) {
        List<UUID> followed = new ArrayList<>();
        for (UUID id : ids) {
            if (followers.containsKey(id)) {
                followed.add(id);
            }
        }
        if (!followed.isEmpty()) {
            markDirty(followed);
        }
    }

    private void markDirty(List<UUID> ids) {
        synchronized (lock) {
            dirty.addAll(ids);
            if (reading || stopped) {
                return;
            }
            reading = true;
        }
        nextRound();
    }

    /** Starts the next read round, or ends the loop when nothing is dirty. Only one round runs at a time. */
    private void nextRound() {
        List<UUID> batch = new ArrayList<>();
        synchronized (lock) {
            Iterator<UUID> it = dirty.iterator();
            while (it.hasNext() && batch.size() < MAX_BATCH) {
                UUID id = it.next();
                it.remove();
                if (followers.containsKey(id)) {
                    batch.add(id);
                }
            }
            if (batch.isEmpty() || stopped) {
                reading = false;
                return;
            }
        }
        rounds.incrementAndGet();
        reader.read(batch).subscribe().with(
                snapshots -> {
                    synchronized (lock) {
                        retryDelay = Duration.ZERO;
                    }
                    deliver(batch, snapshots);
                    nextRound();
                },
                failure -> roundFailed(batch, failure));
    }

    private void roundFailed(List<UUID> batch, Throwable failure) {
        LOG.warnf("Event streams: re-reading %d generation(s) failed (%s); retrying", batch.size(), failure.getMessage());
        ApiException unavailable = new ApiException(ProblemType.UNAVAILABLE, "The generation could not be read; retry.", failure);
        for (UUID id : batch) {
            for (EventFollower f : followers.getOrDefault(id, Set.of())) {
                f.first.completeExceptionally(unavailable);
            }
        }
        Duration delay;
        synchronized (lock) {
            dirty.addAll(batch);
            retryDelay = retryDelay.isZero() ? Duration.ofSeconds(1) : min(retryDelay.multipliedBy(2), MAX_RETRY_DELAY);
            delay = retryDelay;
        }
        vertx.setTimer(delay.toMillis(), t -> nextRound());
    }

    private void deliver(List<UUID> batch, Map<UUID, Snapshot> snapshots) {
        for (UUID id : batch) {
            Set<EventFollower> fs = followers.get(id);
            if (fs == null) {
                continue;
            }
            Snapshot s = snapshots.getOrDefault(id, Snapshot.GONE);
            for (EventFollower f : fs) {
                f.offer(s);
            }
        }
    }

    // ---------------------------------------------------------------- housekeeping

    /** Once a second: keep-alives, stream lifetimes, abandoned set-ups, and the polling fallback. */
    private void tick() {
        long now = System.nanoTime();
        long keepAliveNanos = keepAliveAfter.toNanos();
        for (Set<EventFollower> fs : followers.values()) {
            for (EventFollower f : fs) {
                f.tick(now, keepAliveNanos);
            }
        }
        boolean listening = notifier.listening();
        long interval = listening ? safetyPoll.toNanos() : Duration.ofSeconds(FALLBACK_POLL_SECONDS).toNanos();
        boolean reconnected = listening && !wasListening;
        if (!listening && wasListening) {
            LOG.info("Event streams: LISTEN is down; following generations by polling until it is back");
        }
        wasListening = listening;
        if (followers.isEmpty()) {
            lastFullRead = now;
        } else if (reconnected || now - lastFullRead >= interval) {
            lastFullRead = now;
            markDirty(new ArrayList<>(followers.keySet()));
        }
    }

    /** Unsubscribes a follower and gives back its places; called from several paths, it acts once. */
    private void remove(EventFollower f) {
        followers.computeIfPresent(f.id, (k, set) -> {
            set.remove(f);
            return set.isEmpty() ? null : set;
        });
        String owner = f.release();
        if (owner != null) {
            caps.release(owner);
        }
    }

    void stop(@Observes ShutdownEvent ev) {
        close();
    }

    /** Ends every stream (clients reconnect, to another replica if need be) and stops listening. */
    @PreDestroy
    void close() {
        stopped = true;
        unlisten.run();
        if (tickTimer >= 0) {
            vertx.cancelTimer(tickTimer);
            tickTimer = -1;
        }
        for (Set<EventFollower> fs : followers.values()) {
            for (EventFollower f : fs) {
                f.end();
            }
        }
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }
}
