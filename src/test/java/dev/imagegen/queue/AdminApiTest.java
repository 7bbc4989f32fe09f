package dev.imagegen.queue;

import static dev.imagegen.testsupport.Tokens.bearer;
import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.ValidatableResponse;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.SqlConnection;
import io.vertx.mutiny.sqlclient.Transaction;
import io.vertx.mutiny.sqlclient.Tuple;

import dev.imagegen.testsupport.Db;
import dev.imagegen.testsupport.FakeReplicate;
import dev.imagegen.testsupport.InjectFakeReplicate;
import dev.imagegen.testsupport.Tokens;

/** The operators' queue endpoints: health with alerts, listing, retry, and who may call them. */
@QuarkusTest
class AdminApiTest {

    static final Duration WAIT = Duration.ofSeconds(30);

    @Inject
    Pool pool;

    @InjectFakeReplicate
    FakeReplicate replicate;

    String operator = Tokens.operator();
    String user = Tokens.user("admin-test-" + UUID.randomUUID());

    @BeforeEach
    void clean() {
        Db.clean(pool);
        replicate.reset();
    }

    ValidatableResponse health() {
        return given().header("Authorization", bearer(operator)).get("/v1/admin/queue/health").then();
    }

    ValidatableResponse jobs(String query) {
        return given().header("Authorization", bearer(operator)).get("/v1/admin/jobs" + query).then();
    }

    /** Pending jobs that are not due yet, so the worker leaves them alone. */
    void seedPending(int n) {
        Db.exec(pool, """
                INSERT INTO job_queue (job_type, payload, run_at)
                SELECT 'admin_test', '{}', now() + interval '1 hour' FROM generate_series(1, $1)""", n);
    }

    /** Finished jobs, completed within the last hour. */
    void seedFinished(String status, int n) {
        Db.exec(pool, """
                INSERT INTO job_queue (job_type, payload, status, attempt_number, error_message, created_at, started_at,
                                       completed_at)
                SELECT 'admin_test', '{}', $1, 1, CASE WHEN $1 = 'failed' THEN 'it broke' END,
                       now() - interval '10 minutes', now() - interval '9 minutes', now() - interval '5 minutes'
                  FROM generate_series(1, $2)""", status, n);
    }

    // ------------------------------------------------------------------ health

    @Test
    void anIdleQueueIsHealthyWithoutAlerts() {
        health().statusCode(200)
                .body("pending_jobs", equalTo(0))
                .body("processing_jobs", equalTo(0))
                .body("completed_last_hour", equalTo(0))
                .body("failed_last_hour", equalTo(0))
                .body("avg_processing_time_seconds", nullValue())
                .body("stuck_jobs", equalTo(0))
                .body("error_rate_last_hour", equalTo(0.0f))
                .body("alerts", empty());
    }

    @Test
    void aDeepQueueRaisesTheQueueDepthAlert() {
        seedPending(50);
        health().statusCode(200).body("pending_jobs", equalTo(50)).body("alerts", empty());

        seedPending(1);
        health().statusCode(200)
                .body("pending_jobs", equalTo(51))
                .body("alerts", hasSize(1))
                .body("alerts[0].name", equalTo("high_queue_depth"))
                .body("alerts[0].severity", equalTo("warning"))
                .body("alerts[0].value", equalTo(51.0f))
                .body("alerts[0].threshold", equalTo(50.0f))
                .body("alerts[0].message", notNullValue());
    }

    @Test
    void aFailingQueueRaisesTheErrorRateAlert() {
        seedFinished("completed", 3);
        seedFinished("failed", 2);
        health().statusCode(200)
                .body("completed_last_hour", equalTo(3))
                .body("failed_last_hour", equalTo(2))
                .body("avg_processing_time_seconds", equalTo(300.0f))
                .body("error_rate_last_hour", equalTo(40.0f))
                .body("alerts.name", contains("high_error_rate"))
                .body("alerts[0].value", equalTo(40.0f))
                .body("alerts[0].threshold", equalTo(10.0f));
    }

    @Test
    void aJobWhoseLeaseExpiredRaisesTheStuckAlert() {
        // A job held by a replica that died: its lease runs out in a moment. A transaction of the test
        // holds the row, so the rescuer (which skips locked rows) cannot return it before we look.
        UUID stuck = Db.query(pool, """
                INSERT INTO job_queue (job_type, payload, status, attempt_number, lease_owner, lease_expires_at, started_at)
                VALUES ('admin_test', '{}', 'processing', 1, 'dead-replica', now() + interval '1500 milliseconds', now())
                RETURNING id""").get(0).getUUID("id");
        SqlConnection holder = pool.getConnection().await().atMost(WAIT);
        try {
            Transaction tx = holder.begin().await().atMost(WAIT);
            holder.preparedQuery("SELECT id FROM job_queue WHERE id = $1 FOR UPDATE").execute(Tuple.of(stuck)).await().atMost(WAIT);

            await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> health().statusCode(200)
                    .body("processing_jobs", equalTo(1))
                    .body("stuck_jobs", equalTo(1))
                    .body("alerts.name", contains("stuck_jobs"))
                    .body("alerts[0].severity", equalTo("critical"))
                    .body("alerts[0].value", equalTo(1.0f))
                    .body("alerts[0].threshold", equalTo(0.0f)));
            tx.rollback().await().atMost(WAIT);
        } finally {
            holder.close().await().atMost(WAIT);
        }
    }

    @Test
    void everyAlertAtOnce() {
        seedPending(60);
        seedFinished("failed", 5);
        health().statusCode(200)
                .body("alerts.name", contains("high_queue_depth", "high_error_rate"))
                .body("error_rate_last_hour", equalTo(100.0f));
    }

    // ------------------------------------------------------------------ who may call

    @ParameterizedTest
    @ValueSource(strings = { "GET /v1/admin/queue/health", "GET /v1/admin/jobs", "POST /v1/admin/jobs/00000000-0000-0000-0000-000000000000/retry",
            "POST /v1/admin/jobs/rescue", "POST /v1/admin/process-jobs" })
    void usersGet403AndAnonymousCallersGet401(String route) {
        String method = route.substring(0, route.indexOf(' '));
        String path = route.substring(route.indexOf(' ') + 1);
        given().header("Authorization", bearer(user)).request(method, path).then()
                .statusCode(403)
                .contentType("application/problem+json")
                .body("status", equalTo(403));
        given().request(method, path).then()
                .statusCode(401)
                .header("WWW-Authenticate", "Bearer")
                .contentType("application/problem+json")
                .body("status", equalTo(401));
    }

    // ------------------------------------------------------------------ listing

    /** Five jobs a minute apart, newest first: a-0 (newest) … a-4, alternating completed and failed, then one of another type. */
    List<String> seedListing() {
        List<String> newestFirst = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            String status = i % 2 == 0 ? "completed" : "failed";
            newestFirst.add(Db.query(pool, """
                    INSERT INTO job_queue (job_type, payload, status, attempt_number, error_message, created_at, completed_at)
                    VALUES ('admin_list', $1, $2, 1, CASE WHEN $2 = 'failed' THEN 'it broke' END,
                            now() - make_interval(mins => $3), now() - make_interval(mins => $3))
                    RETURNING id""", new io.vertx.core.json.JsonObject().put("n", i), status, i).get(0).getUUID("id").toString());
        }
        Db.exec(pool, """
                INSERT INTO job_queue (job_type, payload, run_at, created_at)
                VALUES ('other_type', '{}', now() + interval '1 hour', now() - interval '1 hour')""");
        return newestFirst;
    }

    @Test
    void jobsAreListedNewestFirstWithCursorPaging() {
        List<String> ids = seedListing();
        List<String> seen = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            var page = jobs("?job_type=admin_list&limit=2" + (cursor == null ? "" : "&cursor=" + cursor)).statusCode(200)
                    .extract();
            List<String> items = page.path("items.id");
            assertTrue(items.size() <= 2);
            seen.addAll(items);
            cursor = page.path("next_cursor");
            pages++;
        } while (cursor != null && pages < 10);
        assertEquals(3, pages);
        assertEquals(ids, seen);
    }

    @Test
    void jobsCarryTheirFields() {
        List<String> ids = seedListing();
        jobs("?job_type=admin_list&limit=1").statusCode(200)
                .body("items", hasSize(1))
                .body("items[0].id", equalTo(ids.get(0)))
                .body("items[0].job_type", equalTo("admin_list"))
                .body("items[0].status", equalTo("completed"))
                .body("items[0].attempt_number", equalTo(1))
                .body("items[0].max_attempts", equalTo(3))
                .body("items[0].payload.n", equalTo(0))
                .body("items[0].created_at", notNullValue())
                .body("items[0].completed_at", notNullValue())
                .body("next_cursor", notNullValue());
    }

    @Test
    void jobsAreFilteredByStatusAndType() {
        List<String> ids = seedListing();
        jobs("?status=failed").statusCode(200)
                .body("items.id", contains(ids.get(1), ids.get(3)))
                .body("next_cursor", nullValue());
        jobs("?status=completed&job_type=admin_list").statusCode(200)
                .body("items.id", contains(ids.get(0), ids.get(2), ids.get(4)));
        jobs("?job_type=other_type").statusCode(200)
                .body("items", hasSize(1))
                .body("items[0].status", equalTo("pending"));
        jobs("?status=canceled").statusCode(200).body("items", empty()).body("next_cursor", nullValue());
        jobs("").statusCode(200).body("items", hasSize(6));
    }

    @ParameterizedTest
    @ValueSource(strings = { "?status=done", "?status=FAILED", "?limit=0", "?limit=101", "?limit=ten", "?limit=1.5",
            "?cursor=not-a-cursor", "?cursor=bm9wZQ" })
    void badListParametersAre400Problems(String query) {
        jobs(query).statusCode(400)
                .contentType("application/problem+json")
                .body("status", equalTo(400))
                .body("errors.field", hasItem(notNullValue()));
    }

    // ------------------------------------------------------------------ retry

    @Test
    void aFailedJobIsRetriedWithItsAttemptsResetAndItsGenerationQueued() {
        replicate.failPredictionsWithPrompt("doomed", "CUDA out of memory");
        String generation = given().header("Authorization", bearer(user)).contentType(ContentType.JSON)
                .body("{\"prompt\":\"a doomed lighthouse\"}").post("/v1/generations").then().statusCode(202)
                .extract().path("generation_id");
        UUID generationId = UUID.fromString(generation);
        await().atMost(WAIT).until(() -> "failed".equals(generationRow(generationId).getString("status")));
        Row failedJob = Db.query(pool, "SELECT * FROM job_queue WHERE generation_id = $1", generationId).get(0);
        assertEquals("failed", failedJob.getString("status"));
        String jobId = failedJob.getUUID("id").toString();

        replicate.reset();
        given().header("Authorization", bearer(operator)).post("/v1/admin/jobs/" + jobId + "/retry").then()
                .statusCode(200)
                .body("id", equalTo(jobId))
                .body("status", equalTo("pending"))
                .body("attempt_number", equalTo(0))
                .body("error_message", nullValue())
                .body("completed_at", nullValue())
                .body("generation_id", equalTo(generation));
        // Queued again, the generation is picked up at once: it is queued or already further along.
        Row g = generationRow(generationId);
        assertTrue(Set.of("queued", "processing", "downloading", "completed").contains(g.getString("status")), g.getString("status"));
        assertNull(g.getString("error_message"));

        await().atMost(WAIT).until(() -> "completed".equals(generationRow(generationId).getString("status")));
        Row job = Db.query(pool, "SELECT * FROM job_queue WHERE id = $1", UUID.fromString(jobId)).get(0);
        assertEquals("completed", job.getString("status"));
        // Counted again from zero (the answer above said 0): at most max_attempts since the retry.
        assertTrue(job.getInteger("attempt_number") >= 1 && job.getInteger("attempt_number") <= 3,
                "attempts since the retry: " + job.getInteger("attempt_number"));
    }

    @Test
    void retryingAJobThatHasNotFailedIs409() {
        seedPending(1);
        String pending = Db.query(pool, "SELECT id FROM job_queue").get(0).getUUID("id").toString();
        given().header("Authorization", bearer(operator)).post("/v1/admin/jobs/" + pending + "/retry").then()
                .statusCode(409)
                .contentType("application/problem+json")
                .body("status", equalTo(409));
        assertEquals("pending", Db.query(pool, "SELECT status FROM job_queue").get(0).getString("status"));
    }

    @Test
    void retryingAnUnknownJobIs404() {
        given().header("Authorization", bearer(operator)).post("/v1/admin/jobs/" + UUID.randomUUID() + "/retry").then()
                .statusCode(404)
                .contentType("application/problem+json")
                .body("status", equalTo(404));
    }

    Row generationRow(UUID id) {
        return Db.query(pool, "SELECT * FROM image_generations WHERE id = $1", id).get(0);
    }
}
