package dev.imagegen.generation;

import java.time.Duration;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.smallrye.mutiny.Uni;
import io.vertx.pgclient.PgException;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;

/** All SQL on {@code idempotency_keys} but the insert, which rides in the enqueue statement. */
@ApplicationScoped
public class IdempotencyKeyRepository {

    /** The key as stored, and whether it is still within its time-to-live ($3 seconds). */
    static final String FIND = """
            SELECT request_hash, generation_id, job_id, created_at > now() - make_interval(secs => $3) AS fresh
              FROM idempotency_keys
             WHERE user_id = $1 AND key = $2
            """;

    static final String DELETE_EXPIRED_ONE = """
            DELETE FROM idempotency_keys
             WHERE user_id = $1 AND key = $2 AND created_at <= now() - make_interval(secs => $3)
            """;

    static final String PRUNE_EXPIRED = """
            DELETE FROM idempotency_keys
             WHERE ctid = ANY (ARRAY(SELECT ctid FROM idempotency_keys
                                      WHERE created_at <= now() - make_interval(secs => $1)
                                      LIMIT $2))
            """;

    /** A stored key. */
    public record StoredKey(String requestHash, UUID generationId, UUID jobId, boolean fresh) {
    }

    @Inject
    Pool pool;

    public Uni<StoredKey> find(String userId, String key, Duration ttl) {
        return pool.preparedQuery(FIND).execute(Tuple.of(userId, key, (double) ttl.toSeconds()))
                .map(rows -> {
                    if (!rows.iterator().hasNext()) {
                        return null;
                    }
                    Row r = rows.iterator().next();
                    return new StoredKey(r.getString("request_hash"), r.getUUID("generation_id"), r.getUUID("job_id"),
                            r.getBoolean("fresh"));
                });
    }

    public Uni<Integer> deleteExpired(String userId, String key, Duration ttl) {
        return pool.preparedQuery(DELETE_EXPIRED_ONE).execute(Tuple.of(userId, key, (double) ttl.toSeconds()))
                .map(rows -> rows.rowCount());
    }

    /** Deletes up to {@code batch} expired keys; returns how many. */
    public Uni<Integer> pruneExpired(Duration ttl, int batch) {
        return pool.preparedQuery(PRUNE_EXPIRED).execute(Tuple.of((double) ttl.toSeconds(), batch))
                .map(rows -> rows.rowCount());
    }

    /**
     * Whether an enqueue failed because another request inserted the same key first (the primary key's
     * unique violation). Read here, next to the SQL, so the service never handles database errors itself.
     */
    static boolean keyTaken(Throwable t) {
        return t instanceof PgException pg && "23505".equals(pg.getSqlState())
                && "idempotency_keys_pkey".equals(pg.getConstraint());
    }
}
