package dev.imagegen.worker;

import static dev.imagegen.testsupport.Tokens.bearer;
import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.inject.Inject;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;

import dev.imagegen.queue.ClaimPause;
import dev.imagegen.simulator.Route;
import dev.imagegen.testsupport.Db;
import dev.imagegen.testsupport.FakeReplicate;
import dev.imagegen.testsupport.InjectFakeReplicate;
import dev.imagegen.testsupport.Tokens;

/**
 * Issue #9, point 5: a Replicate account that refuses every call (401 revoked token, 402 no credit) must
 * not fail the queue one job at a time. The jobs go back to the queue without spending attempts, the
 * replica pauses claiming (exponentially, 300 ms up to 1 s in tests), the pause shows as an alert and a
 * gauge, and once Replicate accepts the account again every job completes.
 */
@QuarkusTest
class AccountPauseTest {

    static final Duration WAIT = Duration.ofSeconds(40);
    static final Pattern PAUSED_GAUGE = Pattern.compile("(?m)^imagegen_worker_claiming_paused(?:\\{[^}]*\\})? (\\S+)$");

    @Inject
    Pool pool;

    @InjectFakeReplicate
    FakeReplicate replicate;

    @Inject
    ClaimPause pause;

    @ConfigProperty(name = "imagegen.worker.claim-pause-initial")
    Duration initialPause;

    String user = Tokens.user("account-" + UUID.randomUUID());

    @BeforeEach
    void clean() {
        Db.clean(pool);
        replicate.reset();
    }

    @AfterEach
    void accountWorksAgain() {
        replicate.requireToken(FakeReplicate.TEST_TOKEN);
        replicate.reset();
        // Should a test stop half-way, the next test classes in this application must not inherit the pause.
        pause.succeeded();
    }

    String enqueue(String prompt) {
        return given().header("Authorization", bearer(user)).contentType(ContentType.JSON)
                .body("{\"prompt\":\"" + prompt + "\"}").post("/v1/generations").then().statusCode(202)
                .extract().path("generation_id");
    }

    List<Map<String, Object>> alerts() {
        return given().header("Authorization", bearer(Tokens.operator())).get("/v1/admin/queue/health").then()
                .statusCode(200).extract().path("alerts");
    }

    Map<String, Object> claimingPausedAlert() {
        return alerts().stream().filter(a -> "claiming_paused".equals(a.get("name"))).findFirst().orElse(null);
    }

    double pausedGauge() {
        Matcher m = PAUSED_GAUGE.matcher(given().get("/q/metrics").then().statusCode(200).extract().asString());
        assertTrue(m.find(), "imagegen_worker_claiming_paused is exported");
        return Double.parseDouble(m.group(1));
    }

    /** No job failed and none spent an attempt: a claimed one holds attempt 1 until it is given back. */
    void assertNothingFailedOrSpent() {
        assertEquals(0, Db.count(pool, "SELECT count(*) FROM job_queue WHERE status NOT IN ('pending', 'processing')"));
        assertEquals(0, Db.count(pool, "SELECT count(*) FROM image_generations WHERE status = 'failed'"));
        assertEquals(0, Db.count(pool, """
                SELECT count(*) FROM job_queue
                 WHERE attempt_number > CASE WHEN status = 'processing' THEN 1 ELSE 0 END"""));
    }

    void assertEveryJobCompletedAtItsFirstAttempt(List<String> ids) {
        await().atMost(WAIT).pollInterval(Duration.ofMillis(50)).until(() -> Db.count(pool,
                "SELECT count(*) FROM image_generations WHERE status = 'completed'") == ids.size());
        for (String id : ids) {
            Row job = Db.query(pool, "SELECT * FROM job_queue WHERE generation_id = $1", UUID.fromString(id)).get(0);
            assertEquals("completed", job.getString("status"));
            assertEquals(1, job.getInteger("attempt_number"), "refused attempts were given back");
            assertNull(Db.query(pool, "SELECT error_message FROM image_generations WHERE id = $1", UUID.fromString(id))
                    .get(0).getString(0));
        }
        assertEquals(ids.size(), replicate.createCount());
        assertNull(claimingPausedAlert(), "the first success ends the pause");
        assertEquals(0.0, pausedGauge());
    }

    @Test
    void aRevokedTokenPausesClaimingWithoutFailingOrSpendingAnyJobAndTheJobsCompleteOnceItWorks() {
        replicate.requireToken("the-rotated-token");
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(enqueue("revoked " + i));
        }

        await().atMost(WAIT).pollInterval(Duration.ofMillis(50)).until(() -> claimingPausedAlert() != null);
        Map<String, Object> alert = claimingPausedAlert();
        assertEquals("critical", alert.get("severity"));
        assertTrue(alert.get("message").toString().contains("HTTP 401"), alert.toString());
        assertEquals(1.0, pausedGauge(), "the gauge holds from the refusal to the next success");

        // Let the worker be refused a few more times: the window grows, and between two windows it sends
        // one probe. Without the pause it would claim the refused jobs again at once, in a tight loop.
        Instant refusedFrom = replicate.requests(Route.CREATE).get(0).at();
        await().atMost(WAIT).pollInterval(Duration.ofMillis(50))
                .until(() -> ((Number) claimingPausedAlert().get("value")).intValue() >= ids.size() + 3);
        assertNothingFailedOrSpent();
        int creates = replicate.calls(Route.CREATE);
        long windows = Duration.between(refusedFrom, Instant.now()).toMillis() / initialPause.toMillis() + 1;
        assertTrue(creates <= ids.size() + 2 * windows,
                creates + " creates while refused: more than one probe (or two) per pause window of " + initialPause);
        assertEquals(0, replicate.createCount(), "nothing was created with the revoked token");

        replicate.requireToken(FakeReplicate.TEST_TOKEN);
        assertEveryJobCompletedAtItsFirstAttempt(ids);
    }

    @Test
    void anAccountWithoutCreditPausesClaimingUntilItIsToppedUp() {
        replicate.outOfCredit(true);
        List<String> ids = List.of(enqueue("no credit 1"), enqueue("no credit 2"));

        await().atMost(WAIT).pollInterval(Duration.ofMillis(50)).until(() -> claimingPausedAlert() != null);
        assertTrue(claimingPausedAlert().get("message").toString().contains("HTTP 402"), claimingPausedAlert().toString());
        assertTrue(claimingPausedAlert().get("message").toString().contains("Insufficient credit"));
        assertNothingFailedOrSpent();

        replicate.outOfCredit(false);
        assertEveryJobCompletedAtItsFirstAttempt(ids);
    }
}
