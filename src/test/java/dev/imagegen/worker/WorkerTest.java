package dev.imagegen.worker;

import static dev.imagegen.testsupport.Tokens.bearer;
import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasSize;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;

import jakarta.inject.Inject;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;

import dev.imagegen.simulator.Route;
import dev.imagegen.testsupport.Db;
import dev.imagegen.testsupport.FakeReplicate;
import dev.imagegen.testsupport.InjectFakeReplicate;
import dev.imagegen.testsupport.Tokens;

/** The worker pipeline end to end: real PostgreSQL, the real HTTP fake of Replicate, real files. */
@QuarkusTest
class WorkerTest {

    static final Duration WAIT = Duration.ofSeconds(30);

    @Inject
    Pool pool;

    @InjectFakeReplicate
    FakeReplicate replicate;

    @ConfigProperty(name = "imagegen.storage.dir")
    String storageDir;

    String user = Tokens.user("worker-" + UUID.randomUUID());

    @BeforeEach
    void clean() {
        Db.clean(pool);
        replicate.reset();
    }

    String enqueue(String body) {
        return given().header("Authorization", bearer(user)).contentType(ContentType.JSON).body(body)
                .post("/v1/generations").then().statusCode(202).extract().path("generation_id");
    }

    Row generation(String id) {
        return Db.query(pool, "SELECT * FROM image_generations WHERE id = $1", UUID.fromString(id)).get(0);
    }

    Row job(String generationId) {
        return Db.query(pool, "SELECT * FROM job_queue WHERE generation_id = $1", UUID.fromString(generationId)).get(0);
    }

    void awaitStatus(String id, String status) {
        await().atMost(WAIT).pollInterval(Duration.ofMillis(50))
                .until(() -> status.equals(generation(id).getString("status")));
    }

    static byte[] fetch(String url) throws Exception {
        HttpResponse<byte[]> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, r.statusCode());
        return r.body();
    }

    @Test
    void happyPathStoresTheImageByteForByteAndCompletes() throws Exception {
        String id = enqueue("{\"prompt\":\"a lighthouse at dusk\",\"width\":512,\"height\":512,\"output_format\":\"png\"}");
        awaitStatus(id, "completed");

        Row g = generation(id);
        String predictionId = g.getString("replicate_prediction_id");
        assertNotNull(predictionId);
        assertNotNull(g.getOffsetDateTime("started_at"));
        assertNotNull(g.getOffsetDateTime("completed_at"));
        assertEquals("completed", job(id).getString("status"));
        assertEquals(1, replicate.createCount(), "one prediction, never more");

        // The model input follows FLUX's schema: aspect_ratio, not width/height.
        JsonObject input = replicate.lastCreateBody().getJsonObject("input");
        assertEquals("a lighthouse at dusk", input.getString("prompt"));
        assertEquals("1:1", input.getString("aspect_ratio"));
        assertFalse(input.containsKey("width"));
        assertEquals("Bearer " + FakeReplicate.TEST_TOKEN, replicate.lastRequest(Route.CREATE).orElseThrow().header("Authorization"));

        List<Row> images = Db.query(pool, "SELECT * FROM images WHERE generation_id = $1", UUID.fromString(id));
        assertEquals(1, images.size());
        Row image = images.get(0);
        byte[] original = fetch(replicate.prediction(predictionId).orElseThrow().getJsonArray("output").getString(0));
        byte[] stored = Files.readAllBytes(Path.of(storageDir).resolve(image.getString("storage_key")));
        assertArrayEquals(original, stored);
        assertEquals(original.length, image.getLong("size_bytes"));
        assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(original)), image.getString("sha256"));
        assertEquals("image/png", image.getString("content_type"));
        assertEquals(512, image.getInteger("width"));
        assertEquals(512, image.getInteger("height"));

        given().header("Authorization", bearer(user)).get("/v1/generations/" + id).then()
                .statusCode(200)
                .body("status", equalTo("completed"))
                .body("images", hasSize(1))
                .body("images[0].width", equalTo(512))
                .body("images[0].sha256", equalTo(image.getString("sha256")))
                .body("images[0].url", containsString("/v1/images/"));
    }

    @Test
    void unknownModelFailsAfterExactlyOneCreate() {
        String id = enqueue("{\"prompt\":\"x\",\"model_id\":\"nobody/no-such-model\"}");
        awaitStatus(id, "failed");
        assertEquals(1, replicate.calls(Route.CREATE));
        assertTrue(generation(id).getString("error_message").contains("404"), generation(id).getString("error_message"));
        assertEquals("failed", job(id).getString("status"));
        assertEquals(1, job(id).getInteger("attempt_number"));
    }

    @Test
    void invalidInputAt422FailsAtOnceWithReplicatesDetail() {
        replicate.respondNext(Route.CREATE, 422, java.util.Map.of("Content-Type", "application/problem+json"),
                "{\"title\":\"Input validation failed\",\"detail\":\"- input.seed: Invalid type\",\"status\":422}", 1);
        String id = enqueue("{\"prompt\":\"x\"}");
        awaitStatus(id, "failed");
        assertTrue(generation(id).getString("error_message").contains("Input validation failed"));
        assertEquals(1, replicate.calls(Route.CREATE));
    }

    @Test
    void aStormOf5xxIsRetriedThenSucceeds() {
        replicate.failNext(Route.CREATE, 503, 2);
        String id = enqueue("{\"prompt\":\"storm\"}");
        awaitStatus(id, "completed");
        assertEquals(3, replicate.calls(Route.CREATE));
        assertTrue(job(id).getInteger("attempt_number") <= 3);
    }

    @Test
    void a429ClosesTheGateForEveryJobWithoutSpendingAttempts() {
        replicate.throttleNext(Route.CREATE, 1, FakeReplicate.RetryAfterVia.HEADER, 1);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(enqueue("{\"prompt\":\"gate " + i + "\"}"));
        }
        ids.forEach(id -> awaitStatus(id, "completed"));
        List<FakeReplicate.RecordedRequest> creates = replicate.requests(Route.CREATE);
        Instant throttledAt = creates.get(0).at();
        // After the 429 nothing was sent to the create route until Retry-After had passed.
        for (FakeReplicate.RecordedRequest r : creates.subList(1, creates.size())) {
            assertTrue(!r.at().isBefore(throttledAt.plusMillis(900)), "create sent during the 429 gate at " + r.at());
        }
        for (String id : ids) {
            assertEquals(1, job(id).getInteger("attempt_number"), "a 429 spends no attempt");
        }
    }

    @Test
    void truncatedDownloadsAreRetriedWithTheSamePredictionThenFail() {
        replicate.truncateDownloads(true);
        String id = enqueue("{\"prompt\":\"truncated\"}");
        awaitStatus(id, "failed");
        assertEquals(1, replicate.createCount(), "a failed download is retried against the same prediction");
        assertEquals(3, job(id).getInteger("attempt_number"));
        assertTrue(generation(id).getString("error_message").contains("gave up after 3 attempts"));
        assertEquals(0, Db.count(pool, "SELECT count(*) FROM images"));
    }

    @Test
    void oversizedOutputFailsAtOnce() {
        replicate.oversizeDownloads(6_000_000);
        String id = enqueue("{\"prompt\":\"huge\"}");
        awaitStatus(id, "failed");
        assertEquals(1, job(id).getInteger("attempt_number"));
        assertEquals(0, Db.count(pool, "SELECT count(*) FROM images"));
    }

    @Test
    void dataUriOutputsAreStored() {
        replicate.outputsAsDataUri(true);
        String id = enqueue("{\"prompt\":\"inline\",\"width\":256,\"height\":256}");
        awaitStatus(id, "completed");
        Row image = Db.query(pool, "SELECT * FROM images WHERE generation_id = $1", UUID.fromString(id)).get(0);
        assertEquals("image/png", image.getString("content_type"));
        assertEquals(0, replicate.calls(Route.FILE));
    }

    @Test
    void aDisallowedOutputHostIsNeverContacted() {
        replicate.outputsOnHost("evil.example");
        String id = enqueue("{\"prompt\":\"exfiltrate\"}");
        awaitStatus(id, "failed");
        assertEquals(0, replicate.calls(Route.FILE));
        assertTrue(generation(id).getString("error_message").contains("evil.example"), generation(id).getString("error_message"));
    }

    @Test
    void aHangingPredictionTimesOutAndIsCanceledAtReplicate() {
        replicate.stallPredictionsWithPrompt("forever");
        String id = enqueue("{\"prompt\":\"forever and ever\"}");
        awaitStatus(id, "failed");
        String error = generation(id).getString("error_message");
        assertTrue(error.contains("did not finish"), error);
        // Each attempt's prediction was canceled, and each attempt paid for one prediction only.
        assertEquals(3, replicate.createCount());
        for (String p : replicate.predictionIds()) {
            assertTrue(replicate.cancelCount(p) >= 1, "prediction " + p + " was not canceled");
        }
    }

    @Test
    void theConcurrencyBoundIsReachedAndNeverExceeded() {
        replicate.predictionDelay(Duration.ofMillis(1500));
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            ids.add(enqueue("{\"prompt\":\"parallel " + i + "\"}"));
        }
        ids.forEach(id -> awaitStatus(id, "completed"));
        assertEquals(4, replicate.maxConcurrentRunning(), "max-parallel-jobs is 4 in tests");
    }

    @Test
    void aJobWhoseLeaseExpiredIsFinishedByAnotherWorkerWithTheSamePrediction() throws Exception {
        // A worker on a replica that then died: it claimed the job, created the prediction and saved its id.
        String id = enqueueParked();
        String predictionId = createPredictionAtReplicate("orphaned job");
        Db.exec(pool, "UPDATE image_generations SET status = 'processing', started_at = now(), replicate_prediction_id = $2 WHERE id = $1",
                UUID.fromString(id), predictionId);
        Db.exec(pool, """
                UPDATE job_queue SET status = 'processing', attempt_number = 1, lease_owner = 'dead-replica',
                       lease_expires_at = now() - interval '1 second', started_at = now(), run_at = now()
                 WHERE generation_id = $1""", UUID.fromString(id));
        int createsBefore = replicate.createCount();

        awaitStatus(id, "completed");
        assertEquals(createsBefore, replicate.createCount(), "the rescued job resumed the same prediction");
        assertEquals(predictionId, generation(id).getString("replicate_prediction_id"));
        assertEquals(2, job(id).getInteger("attempt_number"), "the rescue kept the attempt count");
    }

    @Test
    void cancelStopsTheJobAndCancelsThePrediction() {
        replicate.stallPredictionsWithPrompt("slow");
        String id = enqueue("{\"prompt\":\"slow one\"}");
        await().atMost(WAIT).until(() -> generation(id).getString("replicate_prediction_id") != null);
        String predictionId = generation(id).getString("replicate_prediction_id");
        given().header("Authorization", bearer(user)).post("/v1/generations/" + id + "/cancel").then()
                .statusCode(200).body("status", equalTo("canceled"));
        assertEquals("canceled", job(id).getString("status"));
        await().atMost(WAIT).until(() -> replicate.cancelCount(predictionId) >= 1);
        given().header("Authorization", bearer(user)).post("/v1/generations/" + id + "/cancel").then()
                .statusCode(409).contentType("application/problem+json");
        given().header("Authorization", bearer(Tokens.user("someone-else"))).post("/v1/generations/" + id + "/cancel").then()
                .statusCode(404);
    }

    @Test
    void processJobsRunsDueJobsAndReportsThem() {
        given().header("Authorization", bearer(user)).post("/v1/admin/process-jobs").then().statusCode(403);
        given().header("Authorization", bearer(Tokens.operator())).post("/functions/v1/process-jobs").then()
                .statusCode(200).body("success", equalTo(true)).body("message", containsString("job(s) with"));
    }

    @Test
    void rescueEndpointReturnsExpiredLeases() {
        String id = enqueueParked();
        Db.exec(pool, """
                UPDATE job_queue SET status = 'processing', attempt_number = 1, lease_owner = 'dead-replica',
                       lease_expires_at = now() - interval '1 minute', run_at = now() + interval '1 hour'
                 WHERE generation_id = $1""", UUID.fromString(id));
        int rescued = given().header("Authorization", bearer(Tokens.operator())).post("/v1/admin/jobs/rescue").then()
                .statusCode(200).extract().path("rescued");
        assertTrue(rescued <= 1, "the scheduled rescuer may have been first");
        // Back in the queue with its attempt count kept (1), then claimed once more (2) and finished.
        awaitStatus(id, "completed");
        assertEquals(2, job(id).getInteger("attempt_number"));
    }

    /** A queued generation whose job the worker will not pick up yet (run_at in the future), written by SQL. */
    String enqueueParked() {
        UUID id = Db.query(pool, """
                INSERT INTO image_generations (user_id, prompt, model_id, parameters, status)
                VALUES ('worker-test', 'orphaned job', 'black-forest-labs/flux-schnell',
                        '{"width":1024,"height":1024,"num_outputs":1}', 'queued')
                RETURNING id""").get(0).getUUID(0);
        Db.exec(pool, """
                INSERT INTO job_queue (job_type, payload, generation_id, run_at)
                VALUES ('generate_image', jsonb_build_object('generation_id', $1::uuid), $1, now() + interval '1 hour')""", id);
        return id.toString();
    }

    String createPredictionAtReplicate(String prompt) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create(replicate.apiUrl() + "/models/black-forest-labs/flux-schnell/predictions"))
                .header("Authorization", "Bearer " + FakeReplicate.TEST_TOKEN)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"input\":{\"prompt\":\"" + prompt + "\"}}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(201, r.statusCode(), r.body());
        return new JsonObject(r.body()).getString("id");
    }
}
