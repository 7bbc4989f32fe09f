package dev.imagegen.generation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.IntStream;

import jakarta.inject.Inject;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.PoolOptions;

import dev.imagegen.queue.Job;
import dev.imagegen.queue.JobRepository;
import dev.imagegen.testsupport.Db;
import dev.imagegen.testsupport.WorkerDisabledProfile;

/**
 * The active cap in the database: it holds when two replicas (two pools, each with its own connections)
 * enqueue for one user at once, and the per-user count stays exact through every transition.
 */
@QuarkusTest
@TestProfile(WorkerDisabledProfile.class)
class QuotaTest {

    static final Duration T = Duration.ofSeconds(60);
    static final GenerationRequest REQUEST = new GenerationRequest("quota", GenerationRequest.DEFAULT_MODEL,
            new GenerationParameters(1024, 1024, null, null, null, 1, null), null);

    @Inject
    dev.imagegen.queue.JobCompleter completer;

    @Inject
    GenerationRepository generations;

    @Inject
    JobRepository jobs;

    @Inject
    Pool pool;

    @Inject
    Vertx vertx;

    @ConfigProperty(name = "quarkus.datasource.reactive.url")
    String url;

    @ConfigProperty(name = "quarkus.datasource.username")
    String username;

    @ConfigProperty(name = "quarkus.datasource.password")
    Optional<String> password;

    final List<Pool> replicas = new ArrayList<>();

    @BeforeEach
    void clean() {
        Db.clean(pool);
    }

    @AfterEach
    void closeReplicas() {
        replicas.forEach(p -> p.close().await().atMost(T));
    }

    /** A pool of its own, as another replica of the service would have. */
    Pool replica() {
        PgConnectOptions options = PgConnectOptions.fromUri(url).setUser(username);
        password.ifPresent(options::setPassword);
        Pool p = Pool.newInstance(PgBuilder.pool().with(new PoolOptions().setMaxSize(10)).connectingTo(options)
                .using(vertx.getDelegate()).build());
        replicas.add(p);
        return p;
    }

    long active(String user) {
        List<io.vertx.mutiny.sqlclient.Row> rows = Db.query(pool, "SELECT active FROM user_quota WHERE user_id = $1", user);
        return rows.isEmpty() ? 0 : rows.get(0).getInteger("active");
    }

    long unfinished(String user) {
        return Db.count(pool, "SELECT count(*) FROM image_generations WHERE user_id = $1"
                + " AND status NOT IN ('completed', 'failed', 'canceled')", user);
    }

    void assertCountExact(String user, long expected) {
        assertEquals(expected, unfinished(user));
        assertEquals(expected, active(user), "user_quota.active equals the unfinished generations");
    }

    @Test
    void theCapHoldsWhenTwoReplicasEnqueueForOneUserAtOnce() {
        String user = "race-" + UUID.randomUUID();
        int cap = 50;
        Pool a = replica();
        Pool b = replica();
        // 2 × 60 enqueues in flight together, 10 connections per replica: far more than the cap, all at once.
        List<Uni<Optional<Enqueued>>> all = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            all.add(generations.insertWithJob(a, user, REQUEST, 3, cap));
            all.add(generations.insertWithJob(b, user, REQUEST, 3, cap));
        }
        List<Optional<Enqueued>> results = Uni.join().all(all).andFailFast().await().atMost(T);

        assertEquals(cap, results.stream().filter(Optional::isPresent).count(), "exactly the cap was accepted");
        assertCountExact(user, cap);
        assertEquals(cap, Db.count(pool, "SELECT count(*) FROM job_queue j JOIN image_generations g"
                + " ON g.id = j.generation_id WHERE g.user_id = $1", user), "a refused enqueue wrote no job");
        // Each accepted enqueue saw the count its predecessor left: fair ranks 0..49, each once.
        List<Integer> ranks = new ArrayList<>();
        Db.query(pool, "SELECT j.fair_rank FROM job_queue j JOIN image_generations g ON g.id = j.generation_id"
                + " WHERE g.user_id = $1 ORDER BY 1", user).forEach(r -> ranks.add(r.getInteger(0)));
        assertEquals(IntStream.range(0, cap).boxed().toList(), ranks);
    }

    @Test
    void noCapMeansNoLimit() {
        String operator = "service_role";
        for (int i = 0; i < 5; i++) {
            assertTrue(generations.insertWithJob(operator, REQUEST, 3, null).await().atMost(T).isPresent());
        }
        assertCountExact(operator, 5);
    }

    @Test
    void theCountStaysExactThroughEveryTransition() {
        String user = "transitions-" + UUID.randomUUID();
        List<UUID> ids = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            ids.add(generations.insertWithJob(user, REQUEST, 3, 50).await().atMost(T).orElseThrow().generationId());
        }
        assertCountExact(user, 6);

        List<Job> claimed = jobs.claim("replica-1", 3, Duration.ofMinutes(1)).await().atMost(T);
        assertEquals(3, claimed.size());
        assertCountExact(user, 6); // queued → processing stays unfinished

        assertTrue(completer.complete(claimed.get(0).id(), claimed.get(0).leaseOwner(), new JsonObject()).await().atMost(T));
        assertCountExact(user, 5);

        assertTrue(jobs.fail(claimed.get(1).id(), claimed.get(1).leaseOwner(), "broken").await().atMost(T).applied());
        assertCountExact(user, 4);

        assertTrue(jobs.retryLater(claimed.get(2).id(), claimed.get(2).leaseOwner(), "flaky", Duration.ofSeconds(1))
                .await().atMost(T).applied());
        assertCountExact(user, 4); // back to queued: still unfinished

        assertTrue(jobs.cancelGeneration(ids.get(5)).await().atMost(T).canceled());
        assertCountExact(user, 3);

        assertTrue(jobs.retryNow(claimed.get(1).id()).await().atMost(T) != null); // failed → queued again
        assertCountExact(user, 4);

        // A lease that expires with no attempts left fails the generation.
        Job held = jobs.claim("replica-2", 1, Duration.ofMinutes(1)).await().atMost(T).get(0);
        Db.exec(pool, "UPDATE job_queue SET lease_expires_at = now() - interval '1 second', attempt_number = max_attempts"
                + " WHERE id = $1", held.id());
        assertEquals(1, jobs.rescueExpired(10).await().atMost(T).size());
        assertCountExact(user, 3);

        Db.exec(pool, "DELETE FROM image_generations WHERE id = $1", ids.get(4)); // still queued
        assertCountExact(user, 2);

        Db.clean(pool);
        assertCountExact(user, 0);
    }
}
