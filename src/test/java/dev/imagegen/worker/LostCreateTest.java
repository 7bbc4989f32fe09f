package dev.imagegen.worker;

import static dev.imagegen.testsupport.Tokens.bearer;
import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;

import dev.imagegen.simulator.Route;
import dev.imagegen.testsupport.Db;
import dev.imagegen.testsupport.FakeReplicate;
import dev.imagegen.testsupport.InjectFakeReplicate;
import dev.imagegen.testsupport.Tokens;
import dev.imagegen.testsupport.WebhookProfile;

/**
 * A create whose answer is lost is found again by its per-attempt marker (the webhook URL's query), never
 * by its prompt. Webhook mode: only there does a create carry a marker (see GenerateImageHandler).
 */
@QuarkusTest
@TestProfile(WebhookProfile.class)
class LostCreateTest {

    static final Duration WAIT = Duration.ofSeconds(30);
    static final String SAME_REQUEST = "{\"prompt\":\"a red fox in fresh snow\",\"seed\":42}";

    @Inject
    Pool pool;

    @InjectFakeReplicate
    FakeReplicate replicate;

    @BeforeEach
    void clean() {
        Db.clean(pool);
        replicate.reset();
        replicate.simulator().webhookSecret(WebhookProfile.SECRET);
    }

    String enqueue(String user) {
        return given().header("Authorization", bearer(user)).contentType(ContentType.JSON).body(SAME_REQUEST)
                .post("/v1/generations").then().statusCode(202).extract().path("generation_id");
    }

    Row generation(String id) {
        return Db.query(pool, "SELECT * FROM image_generations WHERE id = $1", UUID.fromString(id)).get(0);
    }

    UUID jobId(String generationId) {
        return Db.query(pool, "SELECT id FROM job_queue WHERE generation_id = $1", UUID.fromString(generationId)).get(0).getUUID(0);
    }

    @Test
    void twoUsersWithTheSamePromptAndSeedEachGetTheirOwnPredictionWhenTheFirstCreateAnswerIsLost() {
        replicate.loseNextCreateAnswers(1);
        // The lookup is answered only once the second user's prediction exists: newer than the lost one,
        // same prompt and seed, so matching on the prompt would adopt it.
        replicate.holdListsUntilPredictions(2, Duration.ofSeconds(8));

        String first = enqueue(Tokens.user("alice-" + UUID.randomUUID()));
        await().atMost(WAIT).until(() -> replicate.createCount() == 1);
        String second = enqueue(Tokens.user("bob-" + UUID.randomUUID()));
        for (String id : new String[] { first, second }) {
            await().atMost(WAIT).pollInterval(Duration.ofMillis(50)).until(() -> {
                String status = generation(id).getString("status");
                assertNotEquals("failed", status, () -> generation(id).getString("error_message"));
                return "completed".equals(status);
            });
        }

        assertEquals(2, replicate.createCount(), "one create each, the lost one included");
        assertTrue(replicate.calls(Route.LIST) >= 1, "the lost answer was looked for");
        String firstPrediction = generation(first).getString("replicate_prediction_id");
        String secondPrediction = generation(second).getString("replicate_prediction_id");
        assertNotNull(firstPrediction);
        assertNotNull(secondPrediction);
        assertNotEquals(firstPrediction, secondPrediction);
        assertEquals(replicate.predictionIds().get(0), firstPrediction, () -> "the first user got the prediction whose answer was lost; created: "
                + replicate.predictionIds().stream().map(p -> p + "@" + replicate.prediction(p).orElseThrow().getString("created_at")).toList()
                + ", second user: " + secondPrediction);
        // Each generation holds the prediction its own job created (the marker in the echoed webhook URL).
        assertTrue(replicate.prediction(firstPrediction).orElseThrow().getString("webhook").contains("job=" + jobId(first) + "&attempt="));
        assertTrue(replicate.prediction(secondPrediction).orElseThrow().getString("webhook").contains("job=" + jobId(second) + "&attempt="));
        for (String id : new String[] { first, second }) {
            assertEquals(1, Db.count(pool, "SELECT count(*) FROM images WHERE generation_id = $1", UUID.fromString(id)));
        }
    }
}
