package dev.imagegen.webhook;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import jakarta.enterprise.context.ApplicationScoped;

import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.UniEmitter;

/**
 * In-process rendezvous between a job waiting on a prediction and the webhook that reports it done.
 * A webhook received by another replica reaches this one through NOTIFY (see JobNotifier).
 */
@ApplicationScoped
public class PredictionSignals {

    private final Map<String, CopyOnWriteArrayList<UniEmitter<? super Boolean>>> waiters = new ConcurrentHashMap<>();

    /**
     * Completes with {@code true} when the prediction is signalled, or {@code false} after {@code max}
     * (the safety-net poll interval). Cancellation removes the waiter.
     */
    public Uni<Boolean> await(String predictionId, Duration max) {
        Uni<Boolean> signal = Uni.createFrom().emitter(em -> {
            waiters.computeIfAbsent(predictionId, k -> new CopyOnWriteArrayList<>()).add(em);
            em.onTermination(() -> remove(predictionId, em));
        });
        Uni<Boolean> timeout = Uni.createFrom().item(Boolean.FALSE).onItem().delayIt().by(max);
        return Uni.combine().any().of(signal, timeout);
    }

    /** Wakes every job waiting on this prediction here; answers whether any was. */
    public boolean signal(String predictionId) {
        var list = waiters.remove(predictionId);
        if (list == null) {
            return false;
        }
        list.forEach(em -> em.complete(Boolean.TRUE));
        return !list.isEmpty();
    }

    private void remove(String id, UniEmitter<? super Boolean> em) {
        waiters.computeIfPresent(id, (k, list) -> {
            list.remove(em);
            return list.isEmpty() ? null : list;
        });
    }
}
