package dev.imagegen.simulator;

import java.time.Duration;
import java.util.Iterator;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.vertx.core.Vertx;

/** The simulator's pending timers, so that a reset or close cancels every lifecycle step still to come. */
final class SimTimers {

    private final Vertx vertx;
    private final Set<Long> pending = ConcurrentHashMap.newKeySet();

    SimTimers(Vertx vertx) {
        this.vertx = vertx;
    }

    /** Runs {@code action} after {@code d} (at least 1 ms) on a Vert.x timer. */
    void later(Duration d, Runnable action) {
        long ms = Math.max(1, d.toMillis());
        long id = vertx.setTimer(ms, t -> {
            pending.remove(t);
            action.run();
        });
        pending.add(id);
    }

    void cancelAll() {
        for (Iterator<Long> it = pending.iterator(); it.hasNext();) {
            long id = it.next();
            it.remove();
            vertx.cancelTimer(id);
        }
    }
}
