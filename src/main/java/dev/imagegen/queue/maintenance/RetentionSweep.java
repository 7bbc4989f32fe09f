package dev.imagegen.queue.maintenance;

import io.smallrye.mutiny.Uni;

/**
 * A table outside the queue that the retention run also sweeps, after the jobs and only on the
 * replica that holds the retention lock. The package that owns the table implements it (idempotency
 * keys in {@code generation}, webhook deliveries in {@code webhook}) and says what "expired" means, so
 * the queue depends on none of them.
 */
public interface RetentionSweep {

    /** Names this sweep's rows in {@link JobPruner.Result#swept(String)} and in the log. */
    String name();

    /** Deletes at most {@code limit} expired rows in one short statement; answers how many. */
    Uni<Integer> pruneBatch(int limit);
}
