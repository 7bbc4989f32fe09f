package dev.imagegen.generation;

import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.subscription.BackPressureStrategy;
import io.smallrye.mutiny.subscription.MultiEmitter;
import io.vertx.core.Context;

import dev.imagegen.api.ApiException;
import dev.imagegen.api.ProblemType;
import dev.imagegen.metrics.Metrics;

/**
 * One client's stream. Holds the latest snapshot and one coalescing signal, never a queue: what is
 * sent is decided when the client can take it ({@link #next()}), so a slow client skips states.
 * Every emitter call happens on the HTTP connection's Vert.x context, in order.
 */
final class EventFollower {

    private static final Object SIGNAL = new Object();

    /** A follower whose HTTP stream never subscribed (the client left during set-up) is dropped after this. */
    static final Duration ATTACH_TIMEOUT = Duration.ofSeconds(30);

    final UUID id;
    final CompletableFuture<Snapshot> first = new CompletableFuture<>();
    final long createdAt = System.nanoTime();

    private volatile Context context;
    private volatile Snapshot latest;
    private volatile MultiEmitter<? super Object> emitter;
    private volatile boolean keepAliveDue;
    private volatile long lastSentAt = System.nanoTime();
    private volatile long attachedAt;
    /** Only touched in {@link #next()}, which the stream calls serially. */
    private GenerationStatus sentStatus;
    private boolean sentAny;
    /** Guarded by this: whether {@link #release} ran, and the owner whose stream place this follower holds. */
    private boolean released;
    private String slotOwner;

    private final StreamCaps caps;
    private final Metrics metrics;
    /** Unregisters this follower from {@link GenerationEvents} and gives back its places (acts once). */
    private final Consumer<EventFollower> remove;

    /** @param context the HTTP connection's context, or null outside Vert.x */
    EventFollower(UUID id, Context context, StreamCaps caps, Metrics metrics, Consumer<EventFollower> remove) {
        this.id = id;
        this.context = context;
        this.caps = caps;
        this.metrics = metrics;
        this.remove = remove;
    }

    /** Takes a place of {@code owner}'s; false when they have none free (or this follower is already gone). */
    synchronized boolean holdOwnerSlot(String owner) {
        if (released || !caps.acquire(owner)) {
            return false;
        }
        slotOwner = owner;
        return true;
    }

    /**
     * Marks this follower removed, the first time only: gives back its replica place and answers the owner
     * whose place it held (null if none, or if already released).
     */
    synchronized String release() {
        if (released) {
            return null;
        }
        released = true;
        caps.leave();
        String owner = slotOwner;
        slotOwner = null;
        return owner;
    }

    Multi<GenerationEvents.Event> stream() {
        return Multi.createFrom().<Object>emitter(this::attach, BackPressureStrategy.LATEST)
                .map(signal -> next())
                .select().where(Optional::isPresent)
                .map(Optional::get);
    }

    private void attach(MultiEmitter<? super Object> em) {
        if (context == null) {
            context = io.vertx.core.Vertx.currentContext();
        }
        attachedAt = System.nanoTime();
        em.onTermination(() -> remove.accept(this));
        emitter = em;
        signal();
    }

    /** A newer snapshot from a read round (rounds deliver in order, and so does the context). */
    void offer(Snapshot s) {
        run(() -> {
            latest = s;
            if (!first.isDone()) {
                first.complete(s);
            }
            signal();
        });
    }

    void tick(long now, long keepAliveNanos) {
        if (emitter == null) {
            if (first.isDone() && now - createdAt > ATTACH_TIMEOUT.toNanos()) {
                remove.accept(this);
            }
            return;
        }
        if (now - attachedAt > GenerationEvents.MAX_LIFETIME.toNanos()) {
            end();
        } else if (now - lastSentAt >= keepAliveNanos) {
            keepAliveDue = true;
            signal();
        }
    }

    /** Wakes the stream: it sends what is due when the client can take it, and ends after the last state. */
    private void signal() {
        run(() -> {
            MultiEmitter<? super Object> em = emitter;
            Snapshot s = latest;
            if (em == null || s == null || em.isCancelled()) {
                return;
            }
            em.emit(SIGNAL);
            if (s.ends()) {
                em.complete();
            }
        });
    }

    void end() {
        run(() -> {
            MultiEmitter<? super Object> em = emitter;
            if (em != null) {
                em.complete();
            } else {
                remove.accept(this);
                first.completeExceptionally(new ApiException(ProblemType.UNAVAILABLE, "The service is shutting down."));
            }
        });
    }

    /** What to send now: the latest state if its status differs from the last one sent, else a due keep-alive. */
    private Optional<GenerationEvents.Event> next() {
        Snapshot s = latest;
        if (s != null && s.generation() != null && (!sentAny || s.status() != sentStatus)) {
            sentAny = true;
            sentStatus = s.status();
            keepAliveDue = false;
            lastSentAt = System.nanoTime();
            metrics.streamEventSent();
            return Optional.of(new GenerationEvents.Event(s.status(), s.json(), s.eventId()));
        }
        if (keepAliveDue) {
            keepAliveDue = false;
            lastSentAt = System.nanoTime();
            return Optional.of(GenerationEvents.Event.KEEP_ALIVE);
        }
        return Optional.empty();
    }

    private void run(Runnable action) {
        Context c = context;
        if (c == null || c == io.vertx.core.Vertx.currentContext()) {
            action.run();
        } else {
            c.runOnContext(v -> action.run());
        }
    }
}
