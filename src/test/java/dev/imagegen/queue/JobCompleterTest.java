package dev.imagegen.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.pgclient.PgConnection;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.SqlConnection;
import io.vertx.mutiny.sqlclient.Tuple;

import dev.imagegen.testsupport.Db;
import dev.imagegen.testsupport.JobFactory;
import dev.imagegen.testsupport.WorkerDisabledProfile;

/** Batched completions: one statement for the completions that arrive together, each job's outcome its own. */
@QuarkusTest
@TestProfile(WorkerDisabledProfile.class)
class JobCompleterTest {

    static final Duration LEASE = Duration.ofMinutes(1);
    static final Duration T = Duration.ofSeconds(30);

    @Inject
    JobCompleter completer;

    @Inject
    JobRepository jobs;

    @Inject
    Pool pool;

    @BeforeEach
    void clean() {
        Db.clean(pool);
    }

    List<Job> seedAndClaim(int n) {
        for (int i = 0; i < n; i++) {
            JobFactory.generation(pool, "user-" + (i % 7));
        }
        List<Job> claimed = jobs.claim("w", n, LEASE).await().atMost(T);
        assertEquals(n, claimed.size());
        return claimed;
    }

    String status(String table, UUID id) {
        return Db.query(pool, "SELECT status FROM " + table + " WHERE id = $1", id).get(0).getString(0);
    }

    @Test
    void aJobWhoseLeaseWasTakenIsReportedLostWhileTheOthersInItsBatchComplete() {
        List<Job> claimed = seedAndClaim(3);
        Job stolen = claimed.get(1);
        // Rescued and claimed again by another run: the old lease is dead.
        Db.exec(pool, "UPDATE job_queue SET lease_owner = 'other:run' WHERE id = $1", stolen.id());

        List<Uni<Boolean>> all = claimed.stream()
                .map(j -> completer.complete(j.id(), j.leaseOwner(), new JsonObject().put("job", j.id().toString())))
                .toList();
        List<Boolean> outcomes = Uni.join().all(all).andFailFast().await().atMost(T);

        assertEquals(List.of(true, false, true), outcomes);
        for (Job j : claimed) {
            boolean mine = j != stolen;
            assertEquals(mine ? "completed" : "processing", status("job_queue", j.id()));
            assertEquals(mine ? "completed" : "processing", status("image_generations", j.generationId()),
                    "the generation follows its job (V4 trigger)");
        }
        assertEquals(claimed.get(0).id().toString(), Db.query(pool, "SELECT result ->> 'job' FROM job_queue WHERE id = $1",
                claimed.get(0).id()).get(0).getString(0), "each job keeps its own result");
        assertEquals(1, Db.count(pool, "SELECT count(*) FROM job_queue WHERE lease_owner = 'other:run'"));
    }

    @Test
    void completionsArrivingTogetherShareStatementsOfBoundedSize() {
        List<Job> claimed = seedAndClaim(250);
        long before = completer.statements();

        List<Uni<Boolean>> all = claimed.stream().map(j -> completer.complete(j.id(), j.leaseOwner(), new JsonObject()))
                .toList();
        List<Boolean> outcomes = Uni.join().all(all).andFailFast().await().atMost(T);

        assertTrue(outcomes.stream().allMatch(Boolean::booleanValue));
        long statements = completer.statements() - before;
        assertTrue(statements >= 3, "at most " + JobCompleter.MAX_BATCH + " completions per statement: " + statements);
        assertTrue(statements < claimed.size(), "completions share statements: " + statements + " for " + claimed.size());
        assertEquals(250, Db.count(pool, "SELECT count(*) FROM image_generations WHERE status = 'completed'"));
        assertEquals(0, Db.count(pool, "SELECT active FROM user_quota WHERE user_id = 'user-0'"),
                "the quota trigger counts the batch's finished generations");
    }

    @Test
    void aJobCompletedTwiceAtOnceCompletesOnce() {
        Job job = seedAndClaim(1).get(0);
        List<Boolean> outcomes = Uni.join().all(
                completer.complete(job.id(), job.leaseOwner(), new JsonObject()),
                completer.complete(job.id(), job.leaseOwner(), new JsonObject()))
                .andFailFast().await().atMost(T);
        assertEquals(Set.of(true, false), new HashSet<>(outcomes), "exactly one of the two applies: " + outcomes);
        assertEquals("completed", status("job_queue", job.id()));
    }

    @Test
    void aBatchOfCompletionsAnnouncesItsGenerationsInOneNotification() {
        List<Job> claimed = seedAndClaim(5);
        List<String> payloads = new CopyOnWriteArrayList<>();
        SqlConnection conn = pool.getConnection().await().atMost(T);
        try {
            PgConnection pg = PgConnection.cast(conn);
            pg.notificationHandler(n -> payloads.add(n.getPayload()));
            conn.query("LISTEN imagegen_generation_status").execute().await().atMost(T);

            UUID[] ids = claimed.stream().map(Job::id).toArray(UUID[]::new);
            String[] leases = claimed.stream().map(Job::leaseOwner).toArray(String[]::new);
            String[] results = new String[ids.length];
            Arrays.fill(results, "{}");
            assertEquals(5, jobs.completeMany(ids, leases, results).await().atMost(T).size());

            Awaitility.await().atMost(T).until(() -> !payloads.isEmpty());
            // A marker after the batch: once it arrives, every notification of the batch has arrived before it.
            Db.exec(pool, "SELECT pg_notify('imagegen_generation_status', 'marker')");
            Awaitility.await().atMost(T).until(() -> payloads.contains("marker"));
            List<String> batch = new ArrayList<>(payloads.subList(0, payloads.indexOf("marker")));
            assertEquals(1, batch.size(), "one NOTIFY for the statement: " + batch);
            Set<String> announced = new HashSet<>(Arrays.asList(batch.get(0).split(",")));
            Set<String> expected = new HashSet<>();
            claimed.forEach(j -> expected.add(j.generationId().toString()));
            assertEquals(expected, announced);
            assertFalse(announced.isEmpty());
        } finally {
            conn.query("UNLISTEN *").execute().await().atMost(T);
            conn.close().await().atMost(T);
        }
    }

    /**
     * A batch picked as a deadlock victim is sent again, so its jobs complete instead of failing and spending
     * an attempt on finished work (ReplicasIT saw a completed job retried after a 40P01). The deadlock is made
     * on purpose: another transaction holds the batch's second row, the batch waits for it holding the first,
     * then that transaction asks for the first. Its own deadlock_timeout is long, so the batch's session runs the
     * deadlock check first and is the one PostgreSQL aborts.
     */
    @Test
    void aBatchAbortedAsADeadlockVictimIsSentAgainAndCompletes() throws Exception {
        List<Job> claimed = new ArrayList<>(seedAndClaim(2));
        // PostgreSQL orders uuids bytewise, as their text sorts (Java's UUID.compareTo compares signed longs).
        claimed.sort(Comparator.comparing(j -> j.id().toString()));
        Job first = claimed.get(0);
        Job second = claimed.get(1);
        SqlConnection other = pool.getConnection().await().atMost(T);
        try {
            other.query("BEGIN").execute().await().atMost(T);
            other.query("SET LOCAL deadlock_timeout = '60s'").execute().await().atMost(T);
            other.preparedQuery("SELECT id FROM job_queue WHERE id = $1 FOR UPDATE").execute(Tuple.of(second.id()))
                    .await().atMost(T);

            var outcomes = Uni.join().all(
                    completer.complete(first.id(), first.leaseOwner(), new JsonObject()),
                    completer.complete(second.id(), second.leaseOwner(), new JsonObject()))
                    .andFailFast().subscribeAsCompletionStage();
            Awaitility.await("the batch waits for the held row").atMost(T).until(() -> Db.count(pool,
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
                    + "AND query LIKE '%unnest%'") == 1);

            // Closes the cycle; returns once PostgreSQL has aborted the batch's statement.
            other.preparedQuery("SELECT id FROM job_queue WHERE id = $1 FOR UPDATE").execute(Tuple.of(first.id()))
                    .await().atMost(T);
            other.query("COMMIT").execute().await().atMost(T);

            assertEquals(List.of(true, true), outcomes.toCompletableFuture().get(T.toSeconds(), TimeUnit.SECONDS));
            assertEquals("completed", status("job_queue", first.id()));
            assertEquals("completed", status("job_queue", second.id()));
        } finally {
            other.close().await().atMost(T);
        }
    }
}
