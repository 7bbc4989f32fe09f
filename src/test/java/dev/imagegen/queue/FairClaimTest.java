package dev.imagegen.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.stream.Collectors;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.vertx.mutiny.sqlclient.Pool;

import dev.imagegen.generation.Enqueued;
import dev.imagegen.generation.GenerationParameters;
import dev.imagegen.generation.GenerationRepository;
import dev.imagegen.generation.GenerationRequest;
import dev.imagegen.testsupport.Db;
import dev.imagegen.testsupport.WorkerDisabledProfile;

/**
 * Fair claiming against the real database: one user's backlog of 10,000 does not starve another user's
 * single job, priority still goes first, and the claim stays one scan of its partial index.
 */
@QuarkusTest
@TestProfile(WorkerDisabledProfile.class)
class FairClaimTest {

    static final Duration T = Duration.ofSeconds(60);
    static final Duration LEASE = Duration.ofMinutes(1);
    static final int BACKLOG = 10_000;

    @Inject
    GenerationRepository generations;

    @Inject
    JobRepository jobs;

    @Inject
    Pool pool;

    @BeforeEach
    void clean() {
        Db.clean(pool);
    }

    static GenerationRequest request(String prompt, Integer priority) {
        return new GenerationRequest(prompt, GenerationRequest.DEFAULT_MODEL,
                new GenerationParameters(1024, 1024, null, null, null, 1, null), priority);
    }

    /**
     * {@code user}'s backlog of queued generations, enqueued an hour ago, with the fair ranks the enqueue
     * statement gives them (0, 1, 2, … in enqueue order), in one statement instead of 10,000 round trips.
     */
    void seedBacklog(String user, int n) {
        Db.exec(pool, """
                WITH g AS (
                    INSERT INTO image_generations (user_id, prompt, model_id, parameters, status, created_at)
                    SELECT $1, 'backlog ' || i, 'black-forest-labs/flux-schnell',
                           '{"width":1024,"height":1024,"num_outputs":1}', 'queued', now() - interval '1 hour'
                      FROM generate_series(0, $2 - 1) AS i
                    RETURNING id, prompt
                )
                INSERT INTO job_queue (job_type, payload, generation_id, fair_rank, run_at, created_at)
                SELECT 'generate_image', jsonb_build_object('generation_id', g.id), g.id,
                       substring(g.prompt FROM 9)::integer,
                       now() - interval '1 hour' + make_interval(secs => substring(g.prompt FROM 9)::integer / 1000.0),
                       now() - interval '1 hour'
                  FROM g""", user, n);
        Db.exec(pool, "ANALYZE job_queue");
    }

    Enqueued enqueue(String user, Integer priority) {
        return generations.insertWithJob(user, request(user, priority), 3, null).await().atMost(T).orElseThrow();
    }

    String owner(Job job) {
        return Db.query(pool, "SELECT user_id FROM image_generations WHERE id = $1", job.generationId()).get(0)
                .getString(0);
    }

    @Test
    void aUserWithOneJobIsServedInTheNextBatchDespiteAnotherUsersBacklogOf10000() {
        String a = "backlog-" + UUID.randomUUID();
        String b = "single-" + UUID.randomUUID();
        seedBacklog(a, BACKLOG);
        assertEquals(BACKLOG, Db.count(pool, "SELECT active FROM user_quota WHERE user_id = $1", a));
        Enqueued aMore = enqueue(a, null);
        Enqueued bOnly = enqueue(b, null);
        assertEquals(BACKLOG, Db.count(pool, "SELECT fair_rank FROM job_queue WHERE id = $1", aMore.jobId()),
                "A's next job ranks behind A's whole backlog");
        assertEquals(0, Db.count(pool, "SELECT fair_rank FROM job_queue WHERE id = $1", bOnly.jobId()));

        List<Job> batch = jobs.claim("replica-1", 4, LEASE).await().atMost(T);

        assertEquals(4, batch.size());
        assertTrue(batch.stream().anyMatch(j -> j.id().equals(bOnly.jobId())),
                "B's only job is in the next batch, not behind A's 10,000");
        assertFalse(batch.stream().anyMatch(j -> j.id().equals(aMore.jobId())));
        assertEquals(3, batch.stream().filter(j -> !j.id().equals(bOnly.jobId())).map(this::owner)
                .filter(a::equals).count(), "the rest of the batch is A's oldest backlog");
    }

    @Test
    void priorityStillGoesFirstThenFairRankThenAge() {
        String a = "backlog-" + UUID.randomUUID();
        String b = "single-" + UUID.randomUUID();
        String c = "low-" + UUID.randomUUID();
        seedBacklog(a, 100);
        Enqueued low = enqueue("service_role", -1);
        Enqueued bOnly = enqueue(b, null);
        Enqueued urgent = enqueue("service_role", 5);
        Enqueued cOnly = enqueue(c, null);

        // One claim at a time, so that each step shows which jobs the order put first.
        // Priority 5 first; then rank 0 of each user at priority 0, oldest first: A's, then B's and C's.
        assertEquals(List.of(urgent.jobId()), ids(claim(1)));
        assertEquals(a, owner(claim(1).get(0)));
        assertEquals(java.util.Set.of(bOnly.jobId(), cOnly.jobId()), java.util.Set.copyOf(ids(claim(2))));
        // Priority −1 waits behind all of A's priority-0 backlog, however deep.
        List<Job> restOfA = claim(99);
        assertEquals(99, restOfA.stream().map(this::owner).filter(a::equals).count());
        assertEquals(List.of(low.jobId()), ids(claim(10)));
    }

    List<Job> claim(int n) {
        return jobs.claim("replica-1", n, LEASE).await().atMost(T);
    }

    static List<UUID> ids(List<Job> batch) {
        return batch.stream().map(Job::id).toList();
    }

    @Test
    void theClaimIsOneScanOfItsPartialIndexOverTheBacklog() {
        seedBacklog("backlog-" + UUID.randomUUID(), BACKLOG);
        enqueue("single-" + UUID.randomUUID(), null);
        // The claim's row selection, cut from the product's statement itself (its first CTE). The statement's
        // final ORDER BY only sorts the at most $1 rows it claimed.
        String claim = JobRepository.CLAIM;
        String selection = claim.substring(claim.indexOf("SELECT id FROM job_queue"), claim.indexOf("), claimed AS"))
                .replace("$1", "32");
        String plan = Db.query(pool, "EXPLAIN (COSTS OFF) " + selection)
                .stream().map(r -> r.getString(0)).collect(Collectors.joining("\n"));
        assertTrue(plan.contains("Index Scan using job_queue_claim_idx on job_queue"), plan);
        assertFalse(plan.contains("Sort"), "the index delivers the claim's order, no sort:\n" + plan);
        assertFalse(plan.contains("WindowAgg"), plan);
    }
}
