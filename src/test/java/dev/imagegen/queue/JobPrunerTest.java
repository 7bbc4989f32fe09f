package dev.imagegen.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.junit.QuarkusTest;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.SqlConnection;
import io.vertx.mutiny.sqlclient.Transaction;
import io.vertx.mutiny.sqlclient.Tuple;

import dev.imagegen.generation.IdempotencyKeyRetention;
import dev.imagegen.metrics.Metrics;
import dev.imagegen.queue.maintenance.JobPruner;
import dev.imagegen.testsupport.Db;
import dev.imagegen.webhook.WebhookDeliveryRetention;

/**
 * Retention, run directly: exactly the finished jobs past their retention go (or move to the archive),
 * in batches, by one replica at a time; expired idempotency keys and old webhook deliveries go too.
 * Most cases use short retention periods (1 h for completed, 2 h for failed and canceled), so the
 * scheduled run, which uses the 7 and 30 day defaults, can never touch their rows.
 */
@QuarkusTest
class JobPrunerTest {

    static final Duration WAIT = Duration.ofSeconds(60);
    static final Duration HOUR = Duration.ofHours(1);
    static final Duration TWO_HOURS = Duration.ofHours(2);

    @Inject
    Pool pool;

    @Inject
    JobPruner pruner;

    @Inject
    MeterRegistry registry;

    @BeforeEach
    void clean() {
        Db.clean(pool);
        Db.exec(pool, "DELETE FROM job_queue_archive");
    }

    /** A finished job whose completed_at is {@code ago} in the past. */
    UUID finished(String status, Duration ago) {
        return Db.query(pool, """
                INSERT INTO job_queue (job_type, payload, status, attempt_number, error_message, result,
                                       created_at, updated_at, started_at, completed_at)
                VALUES ('prune_test', '{"n":1}', $1, 1, CASE WHEN $1 <> 'completed' THEN 'it broke' END,
                        CASE WHEN $1 = 'completed' THEN '{"ok":true}'::jsonb END,
                        now() - make_interval(secs => $2 + 60), now() - make_interval(secs => $2),
                        now() - make_interval(secs => $2 + 30), now() - make_interval(secs => $2))
                RETURNING id""", status, (double) ago.toSeconds()).get(0).getUUID("id");
    }

    UUID pending() {
        return Db.query(pool, """
                INSERT INTO job_queue (job_type, payload, run_at, created_at)
                VALUES ('prune_test', '{}', now() + interval '1 day', now() - interval '90 days')
                RETURNING id""").get(0).getUUID("id");
    }

    UUID running() {
        return Db.query(pool, """
                INSERT INTO job_queue (job_type, payload, status, attempt_number, lease_owner, lease_expires_at, started_at,
                                       created_at)
                VALUES ('prune_test', '{}', 'processing', 1, 'another-replica', now() + interval '1 hour', now(),
                        now() - interval '90 days')
                RETURNING id""").get(0).getUUID("id");
    }

    Set<UUID> jobIds() {
        Set<UUID> ids = new HashSet<>();
        Db.query(pool, "SELECT id FROM job_queue").forEach(r -> ids.add(r.getUUID("id")));
        return ids;
    }

    double prunedCounter() {
        return registry.get(Metrics.JOBS_PRUNED).counter().count();
    }

    @Test
    void prunesExactlyTheFinishedJobsPastTheirRetention() {
        UUID completedOld = finished("completed", Duration.ofMinutes(90));
        UUID completedRecent = finished("completed", Duration.ofMinutes(30));
        UUID failedOld = finished("failed", Duration.ofHours(3));
        UUID failedRecent = finished("failed", Duration.ofMinutes(90));
        UUID canceledOld = finished("canceled", Duration.ofHours(3));
        UUID canceledRecent = finished("canceled", Duration.ofMinutes(90));
        UUID waiting = pending();
        UUID busy = running();
        double before = prunedCounter();

        JobPruner.Result r = pruner.prune(HOUR, TWO_HOURS, false).await().atMost(WAIT);

        assertTrue(r.ran());
        assertEquals(1, r.completed());
        assertEquals(1, r.failed());
        assertEquals(1, r.canceled());
        Set<UUID> left = jobIds();
        assertEquals(Set.of(completedRecent, failedRecent, canceledRecent, waiting, busy), left);
        assertFalse(left.contains(completedOld) || left.contains(failedOld) || left.contains(canceledOld));
        assertEquals(0, Db.count(pool, "SELECT count(*) FROM job_queue_archive"), "delete mode archives nothing");
        assertEquals(3.0, prunedCounter() - before);
    }

    @Test
    void theConfiguredDefaultsKeepCompletedJobsSevenDaysAndFailedOnesThirty() {
        UUID completed8d = finished("completed", Duration.ofDays(8));
        UUID completed6d = finished("completed", Duration.ofDays(6));
        UUID failed31d = finished("failed", Duration.ofDays(31));
        UUID failed29d = finished("failed", Duration.ofDays(29));
        UUID canceled31d = finished("canceled", Duration.ofDays(31));
        UUID canceled29d = finished("canceled", Duration.ofDays(29));

        pruner.pruneNow().await().atMost(WAIT);

        // Only the rows are checked: a scheduled run could have pruned the same rows first.
        Set<UUID> left = jobIds();
        assertEquals(Set.of(completed6d, failed29d, canceled29d), left);
        assertFalse(left.contains(completed8d) || left.contains(failed31d) || left.contains(canceled31d));
    }

    @Test
    void largeBacklogsArePrunedInBatchesUntilNoneIsLeft() {
        Db.exec(pool, """
                INSERT INTO job_queue (job_type, payload, status, attempt_number, created_at, updated_at, completed_at)
                SELECT 'prune_test', '{}', 'completed', 1, now() - interval '3 hours', now() - interval '2 hours',
                       now() - interval '2 hours' - make_interval(secs => i)
                  FROM generate_series(1, 2500) AS i""");
        UUID recent = finished("completed", Duration.ofMinutes(5));

        JobPruner.Result r = pruner.prune(HOUR, TWO_HOURS, false).await().atMost(WAIT);

        assertEquals(2500, r.completed());
        assertEquals(Set.of(recent), jobIds());
    }

    @Test
    void archiveModeMovesTheRowsWithEveryColumn() {
        UUID completedOld = finished("completed", Duration.ofMinutes(90));
        UUID failedOld = finished("failed", Duration.ofHours(3));
        UUID canceledOld = finished("canceled", Duration.ofHours(3));
        UUID completedRecent = finished("completed", Duration.ofMinutes(30));
        Row original = Db.query(pool, "SELECT * FROM job_queue WHERE id = $1", failedOld).get(0);

        JobPruner.Result r = pruner.prune(HOUR, TWO_HOURS, true).await().atMost(WAIT);

        assertTrue(r.archived());
        assertEquals(3, r.jobs());
        assertEquals(Set.of(completedRecent), jobIds());
        Set<UUID> archived = new HashSet<>();
        Db.query(pool, "SELECT id FROM job_queue_archive").forEach(row -> archived.add(row.getUUID("id")));
        assertEquals(Set.of(completedOld, failedOld, canceledOld), archived);

        Row moved = Db.query(pool, "SELECT * FROM job_queue_archive WHERE id = $1", failedOld).get(0);
        for (String column : List.of("job_type", "status", "error_message", "lease_owner")) {
            assertEquals(original.getString(column), moved.getString(column), column);
        }
        for (String column : List.of("priority", "attempt_number", "max_attempts")) {
            assertEquals(original.getInteger(column), moved.getInteger(column), column);
        }
        for (String column : List.of("run_at", "created_at", "updated_at", "started_at", "completed_at")) {
            assertEquals(original.getOffsetDateTime(column), moved.getOffsetDateTime(column), column);
        }
        assertEquals(original.getJsonObject("payload"), moved.getJsonObject("payload"));
        assertNotNull(moved.getOffsetDateTime("archived_at"));
        Row completed = Db.query(pool, "SELECT result FROM job_queue_archive WHERE id = $1", completedOld).get(0);
        assertEquals(Boolean.TRUE, completed.getJsonObject("result").getBoolean("ok"));
    }

    @Test
    void pruningAJobKeepsItsGeneration() {
        UUID generation = Db.query(pool, """
                INSERT INTO image_generations (user_id, prompt, model_id, parameters, status, started_at, completed_at)
                VALUES ('prune-user', 'old', 'black-forest-labs/flux-schnell', '{}', 'completed',
                        now() - interval '10 days', now() - interval '10 days')
                RETURNING id""").get(0).getUUID("id");
        Db.exec(pool, """
                INSERT INTO job_queue (job_type, payload, status, attempt_number, generation_id, created_at, updated_at,
                                       completed_at)
                VALUES ('generate_image', '{}', 'completed', 1, $1, now() - interval '10 days', now() - interval '10 days',
                        now() - interval '10 days')""", generation);

        pruner.prune(HOUR, TWO_HOURS, false).await().atMost(WAIT);

        assertEquals(0, Db.count(pool, "SELECT count(*) FROM job_queue"));
        assertEquals(1, Db.count(pool, "SELECT count(*) FROM image_generations WHERE id = $1", generation));
    }

    @Test
    void aReplicaThatFindsTheRetentionLockTakenSkipsTheRun() {
        UUID completedOld = finished("completed", Duration.ofMinutes(90));
        // Another replica's batch: a transaction holding the retention lock.
        SqlConnection other = pool.getConnection().await().atMost(WAIT);
        try {
            Transaction tx = other.begin().await().atMost(WAIT);
            other.preparedQuery("SELECT pg_advisory_xact_lock($1)").execute(Tuple.of(dev.imagegen.queue.maintenance.RetentionRepository.RETENTION_LOCK_KEY))
                    .await().atMost(WAIT);

            JobPruner.Result r = pruner.prune(HOUR, TWO_HOURS, false).await().atMost(WAIT);

            assertFalse(r.ran());
            assertEquals(0, r.jobs());
            assertTrue(jobIds().contains(completedOld), "nothing is pruned while another replica holds the lock");
            tx.rollback().await().atMost(WAIT);
        } finally {
            other.close().await().atMost(WAIT);
        }
        // The lock was transaction-scoped: once the other transaction ends, the next run prunes.
        assertTrue(pruner.prune(HOUR, TWO_HOURS, false).await().atMost(WAIT).ran());
        assertFalse(jobIds().contains(completedOld));
    }

    @Test
    void expiredIdempotencyKeysAndOldWebhookDeliveriesArePrunedToo() {
        UUID generation = Db.query(pool, """
                INSERT INTO image_generations (user_id, prompt, model_id, parameters)
                VALUES ('prune-user', 'keys', 'black-forest-labs/flux-schnell', '{}') RETURNING id""").get(0).getUUID("id");
        String keySql = """
                INSERT INTO idempotency_keys (user_id, key, request_hash, generation_id, job_id, created_at)
                VALUES ('prune-user', $1, 'hash', $2, gen_random_uuid(), now() - make_interval(secs => $3))""";
        Db.exec(pool, keySql, "expired", generation, (double) Duration.ofHours(25).toSeconds());
        Db.exec(pool, keySql, "fresh", generation, (double) Duration.ofHours(23).toSeconds());
        String hookSql = """
                INSERT INTO replicate_webhook_deliveries (webhook_id, prediction_id, status, payload, received_at)
                VALUES ($1, 'p', 'succeeded', '{}', now() - make_interval(secs => $2))""";
        Db.exec(pool, hookSql, "msg_old", (double) Duration.ofDays(8).toSeconds());
        Db.exec(pool, hookSql, "msg_recent", (double) Duration.ofDays(6).toSeconds());

        JobPruner.Result r = pruner.prune(HOUR, TWO_HOURS, false).await().atMost(WAIT);

        assertEquals(1, r.swept(IdempotencyKeyRetention.NAME));
        assertEquals(1, r.swept(WebhookDeliveryRetention.NAME));
        assertEquals(List.of("fresh"),
                Db.query(pool, "SELECT key FROM idempotency_keys").stream().map(k -> k.getString("key")).toList());
        assertEquals(List.of("msg_recent"), Db.query(pool, "SELECT webhook_id FROM replicate_webhook_deliveries").stream()
                .map(k -> k.getString("webhook_id")).toList());
    }
}
