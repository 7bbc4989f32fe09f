package dev.imagegen.queue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.UniEmitter;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

/**
 * Batched completions, as River's completer does: successes that arrive within {@link #MAX_WAIT_MS} of each
 * other go to the database in ONE statement ({@link JobRepository#completeMany}), at most {@link #MAX_BATCH}
 * at a time. Each job keeps its own lease guard inside the batch, and each caller's {@code Uni} answers its own
 * outcome: {@code true} completed, {@code false} the lease was lost (a rescue, a cancel or a later claim got
 * there first; nothing was written for that job). A statement PostgreSQL aborts as a deadlock or serialization
 * victim is sent again ({@link JobRepository#completeMany}). Any other failed statement fails every caller of
 * its batch, exactly as a failed single statement would; the callers' own retries and the rescuer stay the
 * backstop.
 *
 * <p>
 * Non-blocking: callers only append to a buffer under a short lock; the first completion of a batch arms a
 * Vert.x timer and the batch goes when the timer fires or the batch is full, whichever comes first.
 */
@ApplicationScoped
public class JobCompleter {

    private static final Logger LOG = Logger.getLogger(JobCompleter.class);

    /** Most completions in one statement. */
    static final int MAX_BATCH = 100;

    /** Longest a completion waits for others to share its statement. */
    static final long MAX_WAIT_MS = 2;

    private record Pending(UUID id, String lease, String result, UniEmitter<? super Boolean> emitter) {
    }

    @Inject
    JobRepository jobs;

    @Inject
    Vertx vertx;

    private final Object lock = new Object();
    /** The batch being gathered, and its job ids (a job completed twice goes into the next batch). */
    private List<Pending> buffer = new ArrayList<>();
    private Set<UUID> bufferedIds = new HashSet<>();
    /** Counts batches taken: a timer armed for an earlier batch finds a newer number and does nothing. */
    private long batchNumber;
    private final AtomicLong statements = new AtomicLong();

    /**
     * Completes the job under {@code lease} with {@code result}: true when it completed, false when the lease was
     * lost (nothing written).
     */
    public Uni<Boolean> complete(UUID id, String lease, JsonObject result) {
        String json = result == null ? null : result.encode();
        return Uni.createFrom().emitter(em -> add(new Pending(id, lease, json, em)));
    }

    /** Statements sent so far (tests and diagnostics). */
    long statements() {
        return statements.get();
    }

    private void add(Pending p) {
        List<Pending> before = null;
        List<Pending> full = null;
        long arm = -1;
        synchronized (lock) {
            if (bufferedIds.contains(p.id())) {
                before = takeLocked();
            }
            buffer.add(p);
            bufferedIds.add(p.id());
            if (buffer.size() >= MAX_BATCH) {
                full = takeLocked();
            } else if (buffer.size() == 1) {
                arm = batchNumber;
            }
        }
        if (before != null) {
            flush(before);
        }
        if (full != null) {
            flush(full);
        } else if (arm >= 0) {
            long number = arm;
            vertx.setTimer(MAX_WAIT_MS, t -> onTimer(number));
        }
    }

    private void onTimer(long number) {
        List<Pending> due = null;
        synchronized (lock) {
            if (batchNumber == number && !buffer.isEmpty()) {
                due = takeLocked();
            }
        }
        if (due != null) {
            flush(due);
        }
    }

    private List<Pending> takeLocked() {
        List<Pending> taken = buffer;
        buffer = new ArrayList<>();
        bufferedIds = new HashSet<>();
        batchNumber++;
        return taken;
    }

    private void flush(List<Pending> batch) {
        UUID[] ids = new UUID[batch.size()];
        String[] leases = new String[batch.size()];
        String[] results = new String[batch.size()];
        for (int i = 0; i < ids.length; i++) {
            Pending p = batch.get(i);
            ids[i] = p.id();
            leases[i] = p.lease();
            results[i] = p.result();
        }
        statements.incrementAndGet();
        jobs.completeMany(ids, leases, results).subscribe().with(
                done -> batch.forEach(p -> p.emitter().complete(done.contains(p.id()))),
                err -> {
                    LOG.debugf("a batch of %d completions failed: %s", ids.length, err.getMessage());
                    batch.forEach(p -> p.emitter().fail(err));
                });
    }
}
