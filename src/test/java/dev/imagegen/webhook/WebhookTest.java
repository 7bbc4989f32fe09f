package dev.imagegen.webhook;

import static dev.imagegen.testsupport.Tokens.bearer;
import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;

import dev.imagegen.simulator.Route;
import dev.imagegen.testsupport.Db;
import dev.imagegen.testsupport.FakeReplicate;
import dev.imagegen.testsupport.InjectFakeReplicate;
import dev.imagegen.testsupport.Tokens;
import dev.imagegen.testsupport.WebhookProfile;

@QuarkusTest
@TestProfile(WebhookProfile.class)
class WebhookTest {

    @Inject
    Pool pool;

    @InjectFakeReplicate
    FakeReplicate replicate;

    String user = Tokens.user("hook-" + UUID.randomUUID());

    @BeforeEach
    void clean() {
        Db.clean(pool);
        replicate.reset();
        replicate.simulator().webhookSecret(WebhookProfile.SECRET);
    }

    String status(String id) {
        return Db.query(pool, "SELECT status FROM image_generations WHERE id = $1", UUID.fromString(id)).get(0).getString(0);
    }

    @Test
    void predictionsReportBackByWebhookAndTheJobCompletesWithoutPolling() {
        String id = given().header("Authorization", bearer(user)).contentType(ContentType.JSON).body("{\"prompt\":\"hooked\"}")
                .post("/v1/generations").then().statusCode(202).extract().path("generation_id");
        await().atMost(Duration.ofSeconds(15)).until(() -> "completed".equals(status(id)));
        JsonObject create = replicate.lastCreateBody();
        int port = org.eclipse.microprofile.config.ConfigProvider.getConfig().getValue("quarkus.http.test-port", Integer.class);
        // The query carries the create's job-and-attempt marker (GenerateImageHandler's lost-create recovery).
        assertTrue(create.getString("webhook").startsWith("http://localhost:" + port + "/v1/webhooks/replicate?job="), create.getString("webhook"));
        assertEquals("completed", create.getJsonArray("webhook_events_filter").getString(0));
        String prediction = replicate.lastPredictionId().orElseThrow();
        assertTrue(replicate.receivedWebhooks(prediction).isEmpty(), "delivered to the app, not to the sink");
        assertTrue(replicate.webhookAttempts(prediction).stream().anyMatch(a -> a.delivered()));
        // Woken by the webhook, the job read the prediction once; no polling loop ran.
        assertTrue(replicate.getCount(prediction) <= 2, "polled " + replicate.getCount(prediction) + " times");
        assertEquals(1, Db.count(pool, "SELECT count(*) FROM replicate_webhook_deliveries WHERE prediction_id = $1", prediction));
    }

    static String[] signed(String body, String msgId, long timestamp, String secret) {
        return new String[] { msgId, String.valueOf(timestamp),
                StandardWebhooks.sign(secret, msgId, timestamp, body.getBytes(StandardCharsets.UTF_8)) };
    }

    io.restassured.response.ValidatableResponse deliver(String body, String[] headers) {
        var req = given().contentType(ContentType.JSON).body(body);
        if (headers[0] != null) {
            req = req.header("webhook-id", headers[0]);
        }
        if (headers[1] != null) {
            req = req.header("webhook-timestamp", headers[1]);
        }
        if (headers[2] != null) {
            req = req.header("webhook-signature", headers[2]);
        }
        return req.post("/v1/webhooks/replicate").then();
    }

    @Test
    void forgedMissingAndStaleSignaturesAre401AndChangeNothing() {
        String body = "{\"id\":\"abc123\",\"status\":\"succeeded\",\"output\":[]}";
        long now = Instant.now().getEpochSecond();
        deliver(body, signed(body, "msg_1", now, "whsec_" + java.util.Base64.getEncoder().encodeToString("another-secret".getBytes())))
                .statusCode(401).contentType("application/problem+json");
        deliver(body, new String[] { "msg_2", String.valueOf(now), null }).statusCode(401);
        deliver(body, new String[] { null, null, null }).statusCode(401);
        deliver(body, signed(body, "msg_3", now - 600, WebhookProfile.SECRET)).statusCode(401);
        deliver(body, signed(body, "msg_4", now + 600, WebhookProfile.SECRET)).statusCode(401);
        String[] good = signed(body, "msg_5", now, WebhookProfile.SECRET);
        deliver(body.replace("abc123", "abc124"), good).statusCode(401);
        assertEquals(0, Db.count(pool, "SELECT count(*) FROM replicate_webhook_deliveries"));
    }

    @Test
    void aReplayedDeliveryIsAcknowledgedAndIgnored() {
        String body = "{\"id\":\"zzz999\",\"status\":\"succeeded\",\"output\":[]}";
        String[] h = signed(body, "msg_replay", Instant.now().getEpochSecond(), WebhookProfile.SECRET);
        deliver(body, h).statusCode(200).body("duplicate", equalTo(false));
        deliver(body, h).statusCode(200).body("duplicate", equalTo(true));
        // Any of several signatures may match (secret rotation).
        String rotated = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " + h[2];
        deliver(body, new String[] { "msg_rotated", h[1], rotated.replace(h[2],
                StandardWebhooks.sign(WebhookProfile.SECRET, "msg_rotated", Long.parseLong(h[1]), body.getBytes(StandardCharsets.UTF_8))) })
                .statusCode(200).body("duplicate", equalTo(false));
        assertEquals(2, Db.count(pool, "SELECT count(*) FROM replicate_webhook_deliveries"));
    }

    @Test
    void anOutOfOrderNonTerminalDeliveryIsRecordedButWakesNothing() {
        String body = "{\"id\":\"early1\",\"status\":\"processing\"}";
        deliver(body, signed(body, "msg_early", Instant.now().getEpochSecond(), WebhookProfile.SECRET))
                .statusCode(200).body("received", equalTo(true));
        assertEquals("processing", Db.query(pool, "SELECT status FROM replicate_webhook_deliveries WHERE webhook_id = 'msg_early'")
                .get(0).getString(0));
        assertEquals(0, replicate.calls(Route.GET));
    }
}
