package dev.imagegen.simulator;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The predictions the simulator knows, oldest first, bounded (the oldest are forgotten first), with the
 * counters tests read. A reset starts a new epoch: timers and webhooks of older predictions then do nothing.
 */
final class PredictionBook {

    /** Newest last; guarded by itself. */
    private final LinkedHashMap<String, SimPrediction> predictions = new LinkedHashMap<>();
    private final AtomicInteger creates = new AtomicInteger();
    private final AtomicInteger running = new AtomicInteger();
    private final AtomicInteger maxRunning = new AtomicInteger();
    private final AtomicLong epoch = new AtomicLong();

    SimPrediction find(String id) {
        if (id == null) {
            return null;
        }
        synchronized (predictions) {
            return predictions.get(id);
        }
    }

    /** Adds a new, running prediction; returns the ids evicted to stay within {@code max}. */
    List<String> add(SimPrediction p, int max) {
        List<String> evicted = new ArrayList<>();
        synchronized (predictions) {
            predictions.put(p.id, p);
            Iterator<String> it = predictions.keySet().iterator();
            while (predictions.size() > max && it.hasNext()) {
                evicted.add(it.next());
                it.remove();
            }
        }
        creates.incrementAndGet();
        maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
        return evicted;
    }

    /** Counts a prediction that reached a terminal status out of the running ones. */
    void finished(SimPrediction p) {
        if (current(p)) {
            running.decrementAndGet();
        }
    }

    List<String> ids() {
        synchronized (predictions) {
            return new ArrayList<>(predictions.keySet());
        }
    }

    List<SimPrediction> newestFirst() {
        List<SimPrediction> all;
        synchronized (predictions) {
            all = new ArrayList<>(predictions.values());
        }
        Collections.reverse(all);
        return all;
    }

    /** Whether {@code p} belongs to the current epoch (was not dropped by {@link #clear()}). */
    boolean current(SimPrediction p) {
        return p.epoch == epoch.get();
    }

    long epoch() {
        return epoch.get();
    }

    int creates() {
        return creates.get();
    }

    int running() {
        return running.get();
    }

    int maxRunning() {
        return maxRunning.get();
    }

    void resetCounters() {
        creates.set(0);
        maxRunning.set(running.get());
    }

    /** Forgets every prediction and starts a new epoch. */
    void clear() {
        epoch.incrementAndGet();
        synchronized (predictions) {
            predictions.clear();
        }
        running.set(0);
        resetCounters();
    }
}
