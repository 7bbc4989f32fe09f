package dev.imagegen.queue;

import static dev.imagegen.testsupport.Tokens.bearer;
import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Map;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.vertx.mutiny.sqlclient.Pool;

import dev.imagegen.testsupport.Db;
import dev.imagegen.testsupport.JobFactory;
import dev.imagegen.testsupport.Tokens;

/**
 * With the fallback tick an hour away, only LISTEN/NOTIFY and the in-process wake-up can start a job:
 * a job that completes proves the wake-up path.
 */
@QuarkusTest
@TestProfile(NotifyWakeTest.NoTickProfile.class)
class NotifyWakeTest {

    public static class NoTickProfile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("imagegen.worker.poll-interval", "1h");
        }
    }

    @Inject
    Pool pool;

    @Inject
    JobNotifier notifier;

    @BeforeEach
    void clean() {
        Db.clean(pool);
        await().atMost(Duration.ofSeconds(20)).until(notifier::listening);
    }

    String status(UUID generation) {
        return Db.query(pool, "SELECT status FROM image_generations WHERE id = $1", generation).get(0).getString(0);
    }

    @Test
    void anEnqueueWakesThisReplicasWorkerAtOnce() {
        String id = given().header("Authorization", bearer(Tokens.user("n1"))).contentType(ContentType.JSON)
                .body("{\"prompt\":\"wake up\"}").post("/v1/generations").then().statusCode(202).extract().path("generation_id");
        await().atMost(Duration.ofSeconds(20)).until(() -> "completed".equals(status(UUID.fromString(id))));
    }

    @Test
    void aNotifyFromAnotherReplicaWakesTheWorker() {
        // Another replica enqueued by plain SQL and sent its (debounced) NOTIFY.
        UUID[] ids = JobFactory.generation(pool, "n2");
        Db.exec(pool, "SELECT pg_notify('imagegen_jobs', 'another-replica')");
        await().atMost(Duration.ofSeconds(20)).until(() -> "completed".equals(status(ids[0])));
    }
}
