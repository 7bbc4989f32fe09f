package dev.imagegen.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;

import dev.imagegen.testsupport.Db;
import dev.imagegen.testsupport.JobFactory;
import dev.imagegen.testsupport.WorkerDisabledProfile;

/** The queue's SQL, driven by hand with the worker switched off. */
@QuarkusTest
@TestProfile(WorkerDisabledProfile.class)
class JobRepositoryTest {

    static final Duration LEASE = Duration.ofMinutes(1);
    static final Duration T = Duration.ofSeconds(30);

    @Inject
    JobCompleter completer;

    @Inject
    dev.imagegen.worker.GenerationJobRepository steps;

    @Inject
    JobRepository jobs;

    @Inject
    Pool pool;

    @BeforeEach
    void clean() {
        Db.clean(pool);
    }

    List<Job> claim(String owner, int n) {
        return jobs.claim(owner, n, LEASE).await().atMost(T);
    }

    @Test
    void claimTakesHighestPriorityFirstThenOldestAndOnlyDueJobs() {
        UUID low = JobFactory.pending(pool, -5, -3);
        UUID oldHigh = JobFactory.pending(pool, 10, -2);
        UUID newHigh = JobFactory.pending(pool, 10, -1);
        UUID future = JobFactory.pending(pool, 100, 3600);
        List<Job> claimed = claim("a", 10);
        assertEquals(List.of(oldHigh, newHigh, low), claimed.stream().map(Job::id).toList());
        assertFalse(claimed.stream().anyMatch(j -> j.id().equals(future)));
        Job first = claimed.get(0);
        assertEquals(JobStatus.PROCESSING, first.status());
        assertEquals(1, first.attemptNumber());
        assertTrue(first.leaseOwner().startsWith("a:") && first.leaseOwner().length() > 2,
                "the lease names the replica and the claim: " + first.leaseOwner());
        assertTrue(first.leaseExpiresAt() != null);
    }

    @Test
    void claimNeverReturnsMoreThanAsked() {
        for (int i = 0; i < 10; i++) {
            JobFactory.pending(pool, 0, -1);
        }
        assertEquals(3, claim("a", 3).size());
        assertEquals(7, claim("a", 100).size());
        assertEquals(0, claim("a", 100).size());
    }

    @Test
    void claimSkipsRowsLockedByAnotherTransaction() {
        UUID locked = JobFactory.pending(pool, 50, -1);
        UUID free = JobFactory.pending(pool, 0, -1);
        List<Job> claimed = pool.withTransaction(conn -> conn.preparedQuery("SELECT id FROM job_queue WHERE id = $1 FOR UPDATE")
                .execute(io.vertx.mutiny.sqlclient.Tuple.of(locked))
                .flatMap(x -> jobs.claim("b", 10, LEASE)))
                .await().atMost(T);
        assertEquals(List.of(free), claimed.stream().map(Job::id).toList());
    }

    @Test
    void twoClaimersNeverGetTheSameJob() {
        int total = 400;
        Db.exec(pool, """
                INSERT INTO job_queue (job_type, payload, run_at)
                SELECT 'noop', '{}', now() - interval '1 second' FROM generate_series(1, $1)""", total);
        List<UUID> seen = java.util.Collections.synchronizedList(new ArrayList<>());
        Uni<Void> a = drain("a", seen);
        Uni<Void> b = drain("b", seen);
        Uni.join().all(a, b).andFailFast().await().atMost(Duration.ofSeconds(60));
        Set<UUID> unique = new HashSet<>(seen);
        assertEquals(seen.size(), unique.size(), "a job was claimed twice");
        assertEquals(total, unique.size());
        assertEquals(total, Db.count(pool, "SELECT count(*) FROM job_queue WHERE status = 'processing'"));
        assertTrue(Db.count(pool, "SELECT count(DISTINCT split_part(lease_owner, ':', 1)) FROM job_queue") == 2,
                "both claimers got work");
    }

    private Uni<Void> drain(String owner, List<UUID> seen) {
        return Multi.createBy().repeating().uni(() -> jobs.claim(owner, 7, LEASE)).whilst(list -> !list.isEmpty())
                .onItem().invoke(list -> list.forEach(j -> seen.add(j.id())))
                .collect().last().replaceWithVoid();
    }

    @Test
    void aLateWorkerCannotOverwriteARescue() {
        UUID[] ids = JobFactory.generation(pool, "u");
        Job job = claim("dead", 1).get(0);
        Db.exec(pool, "UPDATE job_queue SET lease_expires_at = now() - interval '1 second' WHERE id = $1", job.id());
        assertEquals(1, jobs.rescueExpired(10).await().atMost(T).size());
        assertEquals("pending", Db.query(pool, "SELECT status FROM job_queue WHERE id = $1", job.id()).get(0).getString(0));
        assertEquals(1, Db.query(pool, "SELECT attempt_number FROM job_queue WHERE id = $1", job.id()).get(0).getInteger(0),
                "a rescue keeps the attempt count");
        assertEquals("queued", Db.query(pool, "SELECT status FROM image_generations WHERE id = $1", ids[0]).get(0).getString(0));

        assertFalse(jobs.fail(job.id(), job.leaseOwner(), "late").await().atMost(T).applied());
        assertFalse(jobs.retryLater(job.id(), job.leaseOwner(), "late", Duration.ZERO).await().atMost(T).applied());
        assertFalse(completer.complete(job.id(), job.leaseOwner(), new JsonObject()).await().atMost(T));
        assertEquals("pending", Db.query(pool, "SELECT status FROM job_queue WHERE id = $1", job.id()).get(0).getString(0));
    }

    @Test
    void aLateWorkerCannotOverwriteACancel() {
        UUID[] ids = JobFactory.generation(pool, "u");
        Job job = claim("w", 1).get(0);
        JobRepository.Cancellation c = jobs.cancelGeneration(ids[0]).await().atMost(T);
        assertTrue(c.canceled());
        assertEquals("processing", c.previousStatus());
        assertFalse(completer.complete(job.id(), job.leaseOwner(), new JsonObject()).await().atMost(T));
        assertEquals("canceled", Db.query(pool, "SELECT status FROM image_generations WHERE id = $1", ids[0]).get(0).getString(0));
        assertEquals("canceled", Db.query(pool, "SELECT status FROM job_queue WHERE id = $1", job.id()).get(0).getString(0));
        assertFalse(jobs.cancelGeneration(ids[0]).await().atMost(T).canceled(), "a finished generation is not canceled twice");
    }

    @Test
    void anotherOwnerCannotTouchTheJob() {
        JobFactory.generation(pool, "u");
        Job job = claim("owner", 1).get(0);
        assertFalse(jobs.fail(job.id(), "intruder", "x").await().atMost(T).applied());
        assertEquals(List.of(), jobs.heartbeat(java.util.Map.of(job.id(), "intruder"), LEASE).await().atMost(T));
        assertEquals(List.of(job.id()), jobs.heartbeat(java.util.Map.of(job.id(), job.leaseOwner()), LEASE).await().atMost(T));
    }

    @Test
    void rescueFailsAJobThatUsedAllItsAttempts() {
        UUID[] ids = JobFactory.generation(pool, "u");
        Db.exec(pool, "UPDATE job_queue SET attempt_number = 2, max_attempts = 3 WHERE id = $1", ids[1]);
        claim("dead", 1);
        Db.exec(pool, "UPDATE job_queue SET lease_expires_at = now() - interval '1 second' WHERE id = $1", ids[1]);
        jobs.rescueExpired(10).await().atMost(T);
        assertEquals("failed", Db.query(pool, "SELECT status FROM job_queue WHERE id = $1", ids[1]).get(0).getString(0));
        var g = Db.query(pool, "SELECT status, error_message FROM image_generations WHERE id = $1", ids[0]).get(0);
        assertEquals("failed", g.getString("status"));
        assertTrue(g.getString("error_message").contains("no attempts remain"));
    }

    @Test
    void retryLaterBacksOffAndCanForgetThePrediction() {
        UUID[] ids = JobFactory.generation(pool, "u");
        Db.exec(pool, "UPDATE image_generations SET replicate_prediction_id = 'p1' WHERE id = $1", ids[0]);
        String lease = claim("w", 1).get(0).leaseOwner();
        assertTrue(jobs.retryLater(ids[1], lease, "boom", Duration.ofHours(1)).await().atMost(T).applied());
        assertEquals("p1", Db.query(pool, "SELECT replicate_prediction_id FROM image_generations WHERE id = $1", ids[0]).get(0).getString(0));
        assertEquals(0, claim("w", 1).size(), "not due before its backoff");
        Db.exec(pool, "UPDATE job_queue SET run_at = now() WHERE id = $1", ids[1]);
        lease = claim("w", 1).get(0).leaseOwner();
        assertTrue(steps.forgetPrediction(ids[1], lease).await().atMost(T));
        assertTrue(jobs.retryLater(ids[1], lease, "gone", Duration.ZERO).await().atMost(T).applied());
        assertNull(Db.query(pool, "SELECT replicate_prediction_id FROM image_generations WHERE id = $1", ids[0]).get(0).getString(0));
        assertEquals("queued", Db.query(pool, "SELECT status FROM image_generations WHERE id = $1", ids[0]).get(0).getString(0));
    }

    @Test
    void releaseGivesTheAttemptBack() {
        UUID[] ids = JobFactory.generation(pool, "u");
        String lease = claim("w", 1).get(0).leaseOwner();
        assertTrue(jobs.release(ids[1], lease, Duration.ZERO).await().atMost(T).applied());
        var row = Db.query(pool, "SELECT status, attempt_number FROM job_queue WHERE id = $1", ids[1]).get(0);
        assertEquals("pending", row.getString("status"));
        assertEquals(0, row.getInteger("attempt_number"));
    }

    @Test
    void retryNowOnlyTakesFailedOrCanceledJobsAndResetsAttempts() {
        UUID[] ids = JobFactory.generation(pool, "u");
        assertNull(jobs.retryNow(ids[1]).await().atMost(T), "a pending job is not retried");
        String lease = claim("w", 1).get(0).leaseOwner();
        assertTrue(jobs.fail(ids[1], lease, "broken").await().atMost(T).applied());
        Job retried = jobs.retryNow(ids[1]).await().atMost(T);
        assertEquals(JobStatus.PENDING, retried.status());
        assertEquals(0, retried.attemptNumber());
        var g = Db.query(pool, "SELECT status, error_message, completed_at FROM image_generations WHERE id = $1", ids[0]).get(0);
        assertEquals("queued", g.getString("status"));
        assertNull(g.getString("error_message"));
    }

    @Test
    void theSchemaRejectsIllegalStates() {
        UUID id = JobFactory.pending(pool, 0, 0);
        for (String bad : List.of(
                "UPDATE job_queue SET status = 'processing' WHERE id = $1",
                "UPDATE job_queue SET status = 'completed' WHERE id = $1",
                "UPDATE job_queue SET status = 'failed', completed_at = now() WHERE id = $1",
                "UPDATE job_queue SET status = 'exploded' WHERE id = $1",
                "UPDATE job_queue SET attempt_number = 4 WHERE id = $1",
                "UPDATE job_queue SET priority = 101 WHERE id = $1")) {
            try {
                Db.exec(pool, bad, id);
                throw new AssertionError("accepted: " + bad);
            } catch (io.vertx.pgclient.PgException expected) {
                assertEquals("23514", expected.getSqlState(), bad);
            }
        }
    }
}
