package dev.imagegen.worker;

import static dev.imagegen.testsupport.Tokens.bearer;
import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.List;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;

import dev.imagegen.testsupport.Db;
import dev.imagegen.testsupport.FakeReplicate;
import dev.imagegen.testsupport.InjectFakeReplicate;
import dev.imagegen.testsupport.Tokens;

/** Which outputs are fetched: only the first num_outputs, and each stored one only once across attempts. */
@QuarkusTest
class OutputsTest {

    static final Duration WAIT = Duration.ofSeconds(30);

    @Inject
    Pool pool;

    @InjectFakeReplicate
    FakeReplicate replicate;

    String user = Tokens.user("outputs-" + UUID.randomUUID());

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

    List<Integer> storedIndexes(String id) {
        return Db.query(pool, "SELECT output_index FROM images WHERE generation_id = $1 ORDER BY output_index", UUID.fromString(id))
                .stream().map(r -> r.getInteger(0)).toList();
    }

    void awaitStatus(String id, String status) {
        await().atMost(WAIT).pollInterval(Duration.ofMillis(50)).until(() -> status.equals(generation(id).getString("status")));
    }

    @Test
    void extraOutputsAreNeverFetchedAndNeverFailTheJob() {
        // The extra files are not served (404): fetching one would fail the job as "output gone".
        replicate.extraOutputs(2);
        String id = enqueue("{\"prompt\":\"two birds\",\"num_outputs\":2,\"width\":256,\"height\":256}");
        awaitStatus(id, "completed");

        String prediction = generation(id).getString("replicate_prediction_id");
        assertEquals(4, replicate.prediction(prediction).orElseThrow().getJsonArray("output").size(), "the fake returned 4 outputs");
        assertEquals(List.of(0, 1), storedIndexes(id));
        assertEquals(1, job(id).getInteger("attempt_number"), "no retry because of the extras");
        assertEquals(1, replicate.fileDownloads(prediction, 0));
        assertEquals(1, replicate.fileDownloads(prediction, 1));
        assertEquals(0, replicate.fileDownloads(prediction, 2));
        assertEquals(0, replicate.fileDownloads(prediction, 3));
    }

    @Test
    void aRetryAfterAPartialDownloadFetchesOnlyTheMissingOutputs() {
        // Output 0 is stored, then output 1 fails once (a transient 503): the job is retried.
        replicate.failDownloadsOfOutput(1, 503, 1);
        String id = enqueue("{\"prompt\":\"three cats\",\"num_outputs\":3,\"width\":256,\"height\":256}");
        awaitStatus(id, "completed");

        String prediction = generation(id).getString("replicate_prediction_id");
        assertEquals(2, job(id).getInteger("attempt_number"), "the 503 cost one attempt");
        assertEquals(1, replicate.createCount(), "the retry went on with the same prediction");
        assertEquals(List.of(0, 1, 2), storedIndexes(id));
        assertEquals(1, replicate.fileDownloads(prediction, 0), "the stored output was not downloaded again");
        assertEquals(2, replicate.fileDownloads(prediction, 1));
        assertEquals(1, replicate.fileDownloads(prediction, 2));
        given().header("Authorization", bearer(user)).get("/v1/generations/" + id).then().statusCode(200)
                .body("images.size()", org.hamcrest.Matchers.equalTo(3));
    }
}
