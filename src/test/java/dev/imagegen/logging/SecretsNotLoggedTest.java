package dev.imagegen.logging;

import static dev.imagegen.testsupport.Tokens.bearer;
import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import jakarta.inject.Inject;

import org.jboss.logmanager.ExtLogRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.vertx.mutiny.sqlclient.Pool;

import dev.imagegen.simulator.Route;
import dev.imagegen.testsupport.Db;
import dev.imagegen.testsupport.FakeReplicate;
import dev.imagegen.testsupport.InjectFakeReplicate;
import dev.imagegen.testsupport.Tokens;
import dev.imagegen.webhook.StandardWebhooks;

/**
 * No bearer token, JWT, signing secret, webhook signature or Replicate token ever reaches the logs: the
 * running application's log records are captured (a handler on the root logger, with the service's
 * own categories at DEBUG) while requests carry every kind of secret, good and bad, and jobs run
 * against Replicate, successfully and not.
 */
@QuarkusTest
class SecretsNotLoggedTest {

    static final Duration WAIT = Duration.ofSeconds(30);

    /**
     * Categories raised to DEBUG while the test runs: ours, and the framework's security, HTTP and REST
     * client ones. smallrye-jwt's stay at their configured level: at DEBUG it prints a rejected token
     * whole, which is why application.properties pins them to at least INFO ({@code min-level}).
     */
    static final List<String> DEBUG_CATEGORIES = List.of("dev.imagegen", "io.quarkus.security",
            "io.quarkus.vertx.http.runtime.security", "io.quarkus.rest.client", "org.jboss.resteasy.reactive");

    @Inject
    Pool pool;

    @InjectFakeReplicate
    FakeReplicate replicate;

    final Capture capture = new Capture();
    final Map<String, Level> previousLevels = new LinkedHashMap<>();

    /** Every record, rendered with its message, arguments, formatted text and stack trace. */
    static final class Capture extends Handler {
        final ConcurrentLinkedQueue<String> records = new ConcurrentLinkedQueue<>();

        @Override
        public void publish(LogRecord r) {
            StringBuilder b = new StringBuilder().append(r.getLevel()).append(' ').append(r.getLoggerName()).append(": ");
            b.append(r.getMessage());
            if (r instanceof ExtLogRecord ext) {
                b.append(" | ").append(ext.getFormattedMessage());
            }
            if (r.getParameters() != null) {
                for (Object p : r.getParameters()) {
                    b.append(" | ").append(p);
                }
            }
            if (r.getThrown() != null) {
                StringWriter w = new StringWriter();
                r.getThrown().printStackTrace(new PrintWriter(w));
                b.append('\n').append(w);
            }
            records.add(b.toString());
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    }

    @BeforeEach
    void startCapturing() {
        Db.clean(pool);
        replicate.reset();
        capture.setLevel(Level.ALL);
        Logger.getLogger("").addHandler(capture);
        for (String category : DEBUG_CATEGORIES) {
            Logger logger = Logger.getLogger(category);
            previousLevels.put(category, logger.getLevel());
            logger.setLevel(Level.FINE);
        }
    }

    @AfterEach
    void stopCapturing() {
        Logger.getLogger("").removeHandler(capture);
        previousLevels.forEach((category, level) -> Logger.getLogger(category).setLevel(level));
    }

    String enqueue(String token, String prompt) {
        return given().header("Authorization", bearer(token)).contentType(ContentType.JSON)
                .body("{\"prompt\":\"" + prompt + "\"}").post("/v1/generations").then().statusCode(202)
                .extract().path("generation_id");
    }

    String status(String generationId) {
        return Db.query(pool, "SELECT status FROM image_generations WHERE id = $1", UUID.fromString(generationId)).get(0)
                .getString("status");
    }

    @Test
    void noTokenJwtOrWebhookSignatureIsEverLogged() {
        String userToken = Tokens.user("logs-" + UUID.randomUUID());
        String operatorToken = Tokens.operator();
        String forged = Tokens.raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
                "{\"sub\":\"mallory\",\"role\":\"service_role\",\"exp\":" + Tokens.inSeconds(600) + "}",
                "not-the-secret-not-the-secret-not-the-secret");
        String expired = Tokens.raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
                "{\"sub\":\"late\",\"role\":\"authenticated\",\"iat\":" + Tokens.inSeconds(-1200) + ",\"exp\":"
                        + Tokens.inSeconds(-600) + "}", Tokens.SECRET);

        // A job that succeeds, and one that Replicate fails after a transient error: both call Replicate with test-token.
        String ok = enqueue(userToken, "a quiet harbour");
        replicate.failNext(Route.CREATE, 503, 1);
        replicate.failPredictionsWithPrompt("doomed", "CUDA out of memory");
        String failing = enqueue(operatorToken, "a doomed harbour");
        await().atMost(WAIT).until(() -> "completed".equals(status(ok)) && "failed".equals(status(failing)));

        given().header("Authorization", bearer(userToken)).get("/v1/generations/" + ok).then().statusCode(200);
        given().header("Authorization", bearer(operatorToken)).get("/v1/admin/queue/health").then().statusCode(200);
        given().header("Authorization", bearer(userToken)).get("/v1/admin/jobs").then().statusCode(403);
        for (String bad : List.of(forged, expired, "a.b.c", forged + "x")) {
            given().header("Authorization", bearer(bad)).get("/v1/generations").then().statusCode(401);
            given().header("Authorization", bearer(bad)).contentType(ContentType.JSON).body("{\"prompt\":\"x\"}")
                    .post("/v1/generations").then().statusCode(401);
        }
        given().header("Authorization", "Basic " + java.util.Base64.getEncoder().encodeToString(("admin:" + Tokens.SECRET)
                .getBytes(StandardCharsets.UTF_8))).get("/v1/generations").then().statusCode(401);

        // A signed webhook delivery (and a forged one).
        String body = "{\"id\":\"p-logs\",\"status\":\"succeeded\",\"output\":[]}";
        String msgId = "msg_" + UUID.randomUUID();
        long ts = Instant.now().getEpochSecond();
        String signature = StandardWebhooks.sign(replicate.webhookSecret(), msgId, ts, body.getBytes(StandardCharsets.UTF_8));
        String forgedSignature = "v1," + java.util.Base64.getEncoder().encodeToString("forged-signature-bytes-0123456789".getBytes(StandardCharsets.UTF_8));
        for (String sig : List.of(signature, forgedSignature)) {
            given().header(StandardWebhooks.HEADER_ID, msgId).header(StandardWebhooks.HEADER_TIMESTAMP, Long.toString(ts))
                    .header(StandardWebhooks.HEADER_SIGNATURE, sig).contentType(ContentType.JSON).body(body)
                    .post("/v1/webhooks/replicate").then().statusCode(org.hamcrest.Matchers.lessThan(500));
        }

        List<String> logged = new ArrayList<>(capture.records);
        // The capture works: the worker's own DEBUG lines about these jobs are in it.
        assertTrue(logged.stream().anyMatch(l -> l.contains(ok)), "the capture saw the service's logs: " + logged.size() + " records");

        Map<String, String> secrets = new LinkedHashMap<>();
        secrets.put("Replicate token", FakeReplicate.TEST_TOKEN);
        secrets.put("JWT signing secret", Tokens.SECRET);
        secrets.put("webhook secret", replicate.webhookSecret());
        secrets.put("user JWT", userToken);
        secrets.put("operator JWT", operatorToken);
        secrets.put("forged JWT", forged);
        secrets.put("expired JWT", expired);
        for (String token : List.of(userToken, operatorToken, forged, expired)) {
            secrets.put("JWT signature of " + token.substring(0, 12) + "…", token.substring(token.lastIndexOf('.') + 1));
        }
        secrets.put("webhook signature", signature.substring(3));
        secrets.put("forged webhook signature", forgedSignature.substring(3));
        List<String> leaks = new ArrayList<>();
        secrets.forEach((what, value) -> logged.stream().filter(l -> l.contains(value)).findFirst()
                .ifPresent(l -> leaks.add(what + " in: " + l)));
        assertTrue(leaks.isEmpty(), String.join("\n", leaks));
    }
}
