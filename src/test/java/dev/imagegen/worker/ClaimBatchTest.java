package dev.imagegen.worker;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;

import dev.imagegen.simulator.Route;
import dev.imagegen.testsupport.Db;
import dev.imagegen.testsupport.FakeReplicate;
import dev.imagegen.testsupport.InjectFakeReplicate;

/**
 * A replica with many free slots claims them a batch at a time. It used to claim every free slot in one
 * statement: with 5,000 and 10,000 slots that claim outlived its 30 s timeout on a loaded machine, and its
 * rows stayed claimed for nobody until their leases expired. Every row of one claim gets the same
 * {@code started_at} (the claim's transaction time), so the claims show in the table.
 */
@QuarkusTest
@TestProfile(ClaimBatchTest.ManySlotsSmallBatches.class)
class ClaimBatchTest {

    static final int JOBS = 30;
    static final int BATCH = 10;

    public static class ManySlotsSmallBatches implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("imagegen.worker.max-parallel-jobs", "64", "imagegen.worker.claim-batch-size", String.valueOf(BATCH),
                    "imagegen.worker.lease", "30s", "imagegen.replicate.request-timeout", "20s");
        }
    }

    @Inject
    Pool pool;

    @InjectFakeReplicate
    FakeReplicate replicate;

    @AfterEach
    void clean() {
        replicate.reset();
        Db.clean(pool);
    }

    @Test
    void manyFreeSlotsAreClaimedInBatches() {
        Db.clean(pool);
        replicate.reset().hangNext(Route.CREATE, JOBS); // the jobs stay in their first claim
        // All due at once, in one transaction: one claim could take them all.
        Db.exec(pool, """
                WITH g AS (
                    INSERT INTO image_generations (user_id, prompt, model_id, parameters, status)
                    SELECT 'claim-batch-' || n, 'batch ' || n, 'black-forest-labs/flux-schnell',
                           '{"width":256,"height":256,"num_outputs":1}', 'queued'
                      FROM generate_series(1, $1) n
                    RETURNING id)
                INSERT INTO job_queue (job_type, payload, generation_id)
                SELECT 'generate_image', jsonb_build_object('generation_id', g.id), g.id FROM g""", JOBS);
        await().atMost(Duration.ofSeconds(20)).until(() -> Db.count(pool,
                "SELECT count(*) FROM job_queue WHERE status = 'processing'") == JOBS);

        List<Row> claims = Db.query(pool, """
                SELECT started_at, count(*) AS jobs FROM job_queue WHERE status = 'processing'
                 GROUP BY started_at ORDER BY jobs DESC""");
        long largest = claims.get(0).getLong("jobs");
        assertTrue(largest <= BATCH, "no claim took more than a batch; the largest took " + largest);
        assertTrue(claims.size() >= JOBS / BATCH, "at least " + JOBS / BATCH + " claims, got " + claims.size());
        assertEquals(JOBS, claims.stream().mapToLong(r -> r.getLong("jobs")).sum());
    }

    /**
     * The heartbeat extends the leases a batch at a time too: one statement for 10,000 runs missed its 10 s
     * timeout on a loaded machine. Every row of one statement gets the same {@code lease_expires_at}.
     */
    @Test
    void heartbeatsExtendLeasesInBatches() throws InterruptedException {
        manyFreeSlotsAreClaimedInBatches();
        // Interleave the claims' own batches: after two heartbeats (1 s apart in tests), every lease is a heartbeat's.
        Thread.sleep(2_500);
        List<Row> statements = Db.query(pool, """
                SELECT lease_expires_at, count(*) AS jobs FROM job_queue WHERE status = 'processing'
                 GROUP BY lease_expires_at ORDER BY jobs DESC""");
        long largest = statements.get(0).getLong("jobs");
        assertTrue(largest <= BATCH, "no heartbeat statement extended more than a batch; the largest did " + largest);
    }
}
