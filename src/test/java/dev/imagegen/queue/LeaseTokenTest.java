package dev.imagegen.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;

import dev.imagegen.testsupport.Db;
import dev.imagegen.testsupport.JobFactory;
import dev.imagegen.testsupport.WorkerDisabledProfile;
import dev.imagegen.worker.GenerationJobRepository;
import dev.imagegen.worker.StoredImage;

/**
 * Leases per claim: every claim gets a lease of its own, and every guarded statement (the queue's and
 * the generate-image steps') checks it, so a run whose job was rescued and claimed again, even by the
 * same replica, can neither move nor overwrite the new run's job.
 */
@QuarkusTest
@TestProfile(WorkerDisabledProfile.class)
class LeaseTokenTest {

    static final Duration LEASE = Duration.ofMinutes(1);
    static final Duration T = Duration.ofSeconds(30);
    static final String REPLICA = "replica-1";

    @Inject
    JobCompleter completer;

    @Inject
    JobRepository jobs;

    @Inject
    GenerationJobRepository steps;

    @Inject
    Pool pool;

    @BeforeEach
    void clean() {
        Db.clean(pool);
    }

    Job claimOne() {
        List<Job> claimed = jobs.claim(REPLICA, 1, LEASE).await().atMost(T);
        assertEquals(1, claimed.size());
        return claimed.get(0);
    }

    void expireAndRescue(UUID jobId) {
        Db.exec(pool, "UPDATE job_queue SET lease_expires_at = now() - interval '1 second' WHERE id = $1", jobId);
        assertEquals(1, jobs.rescueExpired(10).await().atMost(T).size());
    }

    Row jobRow(UUID id) {
        return Db.query(pool, "SELECT * FROM job_queue WHERE id = $1", id).get(0);
    }

    @Test
    void theSameReplicaClaimingARescuedJobAgainGetsANewLeaseAndTheOldRunCanChangeNothing() {
        UUID[] ids = JobFactory.generation(pool, "u");
        Job old = claimOne();
        expireAndRescue(old.id());
        Job fresh = claimOne();

        assertEquals(old.id(), fresh.id());
        assertNotEquals(old.leaseOwner(), fresh.leaseOwner(), "each claim has its own lease");
        assertTrue(fresh.leaseOwner().startsWith(REPLICA + ":"), "operators still see the replica: " + fresh.leaseOwner());

        // The old run's bookkeeping, every statement it could still send: none applies.
        assertEquals(List.of(), jobs.heartbeat(Map.of(old.id(), old.leaseOwner()), LEASE).await().atMost(T));
        assertFalse(steps.recordPrediction(old.id(), old.leaseOwner(), "p-old").await().atMost(T));
        assertFalse(steps.markDownloading(old.id(), old.leaseOwner()).await().atMost(T));
        assertFalse(steps.forgetPrediction(old.id(), old.leaseOwner()).await().atMost(T));
        assertFalse(jobs.retryLater(old.id(), old.leaseOwner(), "late", Duration.ZERO).await().atMost(T).applied());
        assertFalse(jobs.release(old.id(), old.leaseOwner(), Duration.ZERO).await().atMost(T).applied());
        assertFalse(jobs.fail(old.id(), old.leaseOwner(), "late").await().atMost(T).applied());
        assertFalse(completer.complete(old.id(), old.leaseOwner(), new JsonObject()).await().atMost(T));
        assertFalse(steps.recordImage(old.id(), old.leaseOwner(), 0,
                new StoredImage("generations/late/0", "image/png", 1, 1, 1, "00")).await().atMost(T));
        assertFalse(steps.complete(old.id(), old.leaseOwner(), new JsonObject()).await().atMost(T));

        Row job = jobRow(fresh.id());
        assertEquals("processing", job.getString("status"), "the new run still holds the job");
        assertEquals(fresh.leaseOwner(), job.getString("lease_owner"));
        assertEquals(2, job.getInteger("attempt_number"));
        Row g = Db.query(pool, "SELECT status, replicate_prediction_id FROM image_generations WHERE id = $1", ids[0]).get(0);
        assertEquals("processing", g.getString("status"));
        assertNull(g.getString("replicate_prediction_id"), "the old run saved no prediction");

        // The new run's own lease works for every step.
        assertEquals(List.of(fresh.id()), jobs.heartbeat(Map.of(fresh.id(), fresh.leaseOwner()), LEASE).await().atMost(T));
        assertTrue(steps.recordPrediction(fresh.id(), fresh.leaseOwner(), "p-new").await().atMost(T));
        assertTrue(steps.markDownloading(fresh.id(), fresh.leaseOwner()).await().atMost(T));
        assertTrue(steps.complete(fresh.id(), fresh.leaseOwner(), new JsonObject()).await().atMost(T));
        assertEquals("completed", jobRow(fresh.id()).getString("status"));
    }

    @Test
    void theReplicaNameAloneHoldsNoLease() {
        JobFactory.generation(pool, "u");
        Job job = claimOne();
        assertFalse(jobs.fail(job.id(), REPLICA, "x").await().atMost(T).applied());
        assertEquals(List.of(), jobs.heartbeat(Map.of(job.id(), REPLICA), LEASE).await().atMost(T));
        assertFalse(steps.recordPrediction(job.id(), REPLICA, "p").await().atMost(T));
        assertEquals("processing", jobRow(job.id()).getString("status"));
    }

    @Test
    void aHeartbeatExtendsEachJobByItsOwnLeaseOnly() {
        JobFactory.generation(pool, "u");
        JobFactory.generation(pool, "v");
        Job a = claimOne();
        Job b = claimOne();
        // One stale lease in the batch does not stop the others from being extended.
        List<UUID> held = jobs.heartbeat(Map.of(a.id(), a.leaseOwner(), b.id(), b.leaseOwner() + "-stale"), LEASE)
                .await().atMost(T);
        assertEquals(List.of(a.id()), held);
    }

    @Test
    void anOperatorRetryAfterACancelStartsAgainAtAttemptOneWithAnotherLease() {
        // The attempt number alone could not tell these two runs apart: both are attempt 1 of this replica.
        UUID[] ids = JobFactory.generation(pool, "u");
        Job first = claimOne();
        assertTrue(jobs.cancelGeneration(ids[0]).await().atMost(T).canceled());
        jobs.retryNow(first.id()).await().atMost(T);
        Job second = claimOne();
        assertEquals(first.attemptNumber(), second.attemptNumber());
        assertNotEquals(first.leaseOwner(), second.leaseOwner());
        assertFalse(jobs.retryLater(first.id(), first.leaseOwner(), "late", Duration.ZERO).await().atMost(T).applied());
        assertEquals("processing", jobRow(second.id()).getString("status"));
    }
}
