package dev.imagegen.worker;

import static dev.imagegen.testsupport.Tokens.bearer;
import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;

import dev.imagegen.simulator.Fault;
import dev.imagegen.simulator.Route;
import dev.imagegen.testsupport.Db;
import dev.imagegen.testsupport.FakeReplicate;
import dev.imagegen.testsupport.InjectFakeReplicate;
import dev.imagegen.testsupport.Tokens;

/**
 * The race of issue #9, point 3, on the real worker: a run's heartbeats fail past its lease, the rescuer
 * returns the job, and this same replica claims it again while the first run is still waiting on
 * Replicate. The first run must be stopped and its late answer must change nothing: one run reaches the
 * end, one prediction is paid for.
 */
@QuarkusTest
class LeaseRaceTest {

    static final Duration WAIT = Duration.ofSeconds(40);

    /**
     * When the first run's create is answered: after the lease (4 s in tests) expired, the rescuer
     * (every 1 s) returned the job and the second run started (so at about 4 to 5.5 s), and while the
     * second run is still downloading (its download is held {@link #DOWNLOAD_LATENCY}).
     */
    static final Duration FIRST_CREATE_ANSWERED_AFTER = Duration.ofMillis(6800);
    static final Duration DOWNLOAD_LATENCY = Duration.ofMillis(3500);

    /**
     * Makes every heartbeat statement fail, as if this replica could not reach the database for them, and
     * nothing else: a statement-level trigger, so it fires even when the heartbeat matches no row.
     */
    static final String FAIL_HEARTBEATS_FUNCTION = """
            CREATE OR REPLACE FUNCTION test_fail_heartbeats() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF current_query() LIKE '%lease_expires_at = now() + make_interval(secs => $3), updated_at = now()%' THEN
                    RAISE EXCEPTION 'heartbeat refused by the test';
                END IF;
                RETURN NULL;
            END $$""";
    static final String FAIL_HEARTBEATS_TRIGGER = """
            CREATE TRIGGER test_fail_heartbeats BEFORE UPDATE ON job_queue
              FOR EACH STATEMENT EXECUTE FUNCTION test_fail_heartbeats()""";

    @Inject
    Pool pool;

    @InjectFakeReplicate
    FakeReplicate replicate;

    String user = Tokens.user("lease-race-" + UUID.randomUUID());

    @BeforeEach
    void clean() {
        Db.clean(pool);
        replicate.reset();
    }

    @AfterEach
    void heartbeatsWorkAgain() {
        sql("DROP TRIGGER IF EXISTS test_fail_heartbeats ON job_queue");
        replicate.reset();
    }

    void sql(String statement) {
        pool.query(statement).execute().await().atMost(Duration.ofSeconds(30));
    }

    Row job(String generationId) {
        return Db.query(pool, "SELECT * FROM job_queue WHERE generation_id = $1", UUID.fromString(generationId)).get(0);
    }

    Row generation(String id) {
        return Db.query(pool, "SELECT * FROM image_generations WHERE id = $1", UUID.fromString(id)).get(0);
    }

    /**
     * Runs the race: the first run's create gets {@code firstAnswer} only after its lease expired and this
     * replica claimed the job again; answers the generation id once it is finished.
     */
    String race(Fault firstAnswer) {
        sql(FAIL_HEARTBEATS_FUNCTION);
        sql(FAIL_HEARTBEATS_TRIGGER);
        replicate.nextFaults(Route.CREATE, firstAnswer.after(FIRST_CREATE_ANSWERED_AFTER), 1);
        replicate.latency(Route.FILE, DOWNLOAD_LATENCY);

        String id = given().header("Authorization", bearer(user)).contentType(ContentType.JSON)
                .body("{\"prompt\":\"a lease race\"}").post("/v1/generations").then().statusCode(202)
                .extract().path("generation_id");

        // Heartbeats fail, the lease expires, the rescuer returns the job, and this replica claims it again.
        await().atMost(WAIT).pollInterval(Duration.ofMillis(50)).until(() -> job(id).getInteger("attempt_number") == 2);
        sql("DROP TRIGGER test_fail_heartbeats ON job_queue");

        await().atMost(WAIT).pollInterval(Duration.ofMillis(50))
                .until(() -> java.util.Set.of("completed", "failed").contains(generation(id).getString("status")));
        Instant firstCreate = replicate.requests(Route.CREATE).get(0).at();
        assertTrue(Instant.now().isAfter(firstCreate.plus(FIRST_CREATE_ANSWERED_AFTER)),
                "the first run's late answer was due before this check");
        return id;
    }

    void assertOneRunAndOnePrediction(String id) {
        Row g = generation(id);
        assertEquals("completed", g.getString("status"), "error: " + g.getString("error_message"));
        assertNull(g.getString("error_message"));
        Row j = job(id);
        assertEquals("completed", j.getString("status"));
        assertEquals(2, j.getInteger("attempt_number"), "the rescue kept the attempt, the second claim took the next");
        assertEquals(2, replicate.calls(Route.CREATE), "one create per run");
        assertEquals(1, replicate.createCount(), "one prediction paid for");
        assertEquals(1, replicate.calls(Route.FILE), "one run downloaded the output");
        assertEquals(1, Db.count(pool, "SELECT count(*) FROM images WHERE generation_id = $1", UUID.fromString(id)));
    }

    @Test
    void theOldRunsLateRefusalCannotFailTheNewRun() {
        // If the first run were still alive, this refusal would fail the job under the second run's feet.
        String id = race(Fault.problem(422, new JsonObject().put("title", "Input validation failed")
                .put("detail", "late answer to the first run").put("status", 422)));
        assertOneRunAndOnePrediction(id);
    }

    @Test
    void theOldRunsLateCreateIsNeverSentOnSoNoSecondPredictionIsPaidFor() {
        // The first run's create is served normally, late: if that run were still alive (or its request
        // still open), Replicate would create and bill a second prediction for the same generation.
        String id = race(Fault.proceed());
        assertOneRunAndOnePrediction(id);
    }
}
