package dev.imagegen.generation;

import static dev.imagegen.testsupport.Tokens.bearer;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.response.ValidatableResponse;
import io.vertx.mutiny.sqlclient.Pool;

import dev.imagegen.testsupport.Db;
import dev.imagegen.testsupport.Tokens;

/**
 * The per-user limits over HTTP, against the real database: at most 3 unfinished generations, 6 enqueues
 * per minute (one token every 10 s). The worker is off, so generations stay queued until the test moves them.
 */
@QuarkusTest
@TestProfile(QuotaApiTest.Limits.class)
class QuotaApiTest {

    public static class Limits implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("imagegen.worker.enabled", "false",
                    "imagegen.limits.max-active-per-user", "3",
                    "imagegen.limits.enqueue-per-minute", "6");
        }
    }

    static final String BODY = "{\"prompt\":\"a lighthouse\"}";

    @Inject
    Pool pool;

    String user = "quota-" + UUID.randomUUID();
    String token = Tokens.user(user);

    @BeforeEach
    void clean() {
        Db.clean(pool);
    }

    ValidatableResponse post(String route, String bearerToken, String body, String... headers) {
        var request = given().header("Authorization", bearer(bearerToken)).contentType(ContentType.JSON).body(body);
        for (int i = 0; i + 1 < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
        }
        return request.when().post(route).then();
    }

    String enqueue(String body, String... headers) {
        return post("/v1/generations", token, body, headers).statusCode(202).extract().path("generation_id");
    }

    long rows(String table) {
        return Db.count(pool, "SELECT count(*) FROM " + table);
    }

    void assertRows(long generations, long jobs) {
        assertEquals(generations, rows("image_generations"));
        assertEquals(jobs, rows("job_queue"));
    }

    @Test
    void oneMoreThanTheActiveCapIs429WithRetryAfterOnBothRoutesAndWritesNothing() {
        for (int i = 0; i < 3; i++) {
            enqueue(BODY);
        }
        for (String route : new String[] { "/v1/generations", "/functions/v1/start-generation" }) {
            post(route, token, BODY).statusCode(429)
                    .contentType("application/problem+json")
                    .header("Retry-After", "10")
                    .body("status", equalTo(429))
                    .body("type", equalTo("https://imagegen-queue.dev/problems/too-many-requests"))
                    .body("detail", containsString("3 unfinished generations"));
        }
        assertRows(3, 3);
        assertEquals(3, Db.count(pool, "SELECT active FROM user_quota WHERE user_id = $1", user));
    }

    @Test
    void aFinishedGenerationFreesItsPlace() {
        String first = enqueue(BODY);
        enqueue(BODY);
        enqueue(BODY);
        post("/v1/generations", token, BODY).statusCode(429);
        given().header("Authorization", bearer(token)).post("/v1/generations/" + first + "/cancel").then()
                .statusCode(200).body("status", equalTo("canceled"));
        enqueue(BODY);
        post("/v1/generations", token, BODY).statusCode(429);
        assertRows(4, 4);
    }

    @Test
    void anotherUserIsNotLimitedByTheFirstOnesCap() {
        for (int i = 0; i < 3; i++) {
            enqueue(BODY);
        }
        post("/v1/generations", Tokens.user("other-" + UUID.randomUUID()), BODY).statusCode(202);
    }

    @Test
    void operatorsAreExemptFromBothLimits() {
        String operator = Tokens.operator();
        for (int i = 0; i < 8; i++) {
            post("/v1/generations", operator, "{\"prompt\":\"ops " + i + "\",\"priority\":5}").statusCode(202);
        }
        assertRows(8, 8);
    }

    @Test
    void overTheEnqueueRateIs429WithTheWaitForOneTokenAndAReplayStillAnswers() {
        String first = enqueue(BODY, "Idempotency-Key", "first");
        // Every request that passes the rate limit spends a token, also those the cap then refuses (from the 4th).
        // A token comes back every 10 s: on a slow machine one may refill meanwhile, so count instead of assuming.
        int passedTheLimiter = 1;
        io.restassured.response.ExtractableResponse<?> refused = null;
        for (int i = 0; i < 20 && refused == null; i++) {
            var r = post("/v1/generations", token, BODY).extract();
            if (r.statusCode() == 429 && r.<String>path("detail").startsWith("Too many enqueues")) {
                refused = r;
            } else {
                passedTheLimiter++;
            }
        }
        assertTrue(refused != null, "the rate limit refused within 20 requests");
        assertTrue(passedTheLimiter >= 6, "the whole burst of 6 was granted, got " + passedTheLimiter);
        assertEquals("application/problem+json", refused.contentType());
        assertEquals("Too many enqueues: the limit is 6 per minute; retry in " + refused.header("Retry-After") + " s.",
                refused.path("detail"));
        int retryAfter = Integer.parseInt(refused.header("Retry-After"));
        assertTrue(retryAfter >= 1 && retryAfter <= 10, "the wait for one token (10 s at most), got " + retryAfter);
        assertRows(3, 3);
        // Refused by the limiter, an earlier request's replay still answers its first response.
        post("/v1/generations", token, BODY, "Idempotency-Key", "first").statusCode(202)
                .body("generation_id", equalTo(first));
    }

    @Test
    void anIdempotencyKeyReplayAnswersItsFirstResponseEvenWhenALimitRefusesNewWork() {
        String first = enqueue(BODY, "Idempotency-Key", "k-1");
        enqueue(BODY);
        enqueue(BODY);
        // At the cap (3 unfinished): the replay still answers the first response, a new key is refused.
        post("/v1/generations", token, BODY, "Idempotency-Key", "k-1").statusCode(202)
                .body("generation_id", equalTo(first));
        post("/v1/generations", token, "{\"prompt\":\"another body\"}", "Idempotency-Key", "k-1").statusCode(409);
        post("/v1/generations", token, BODY, "Idempotency-Key", "k-2").statusCode(429).header("Retry-After", "10");
        // Six tokens spent: now the rate limit refuses (unless a token refilled meanwhile), and the replay still answers.
        post("/v1/generations", token, BODY, "Idempotency-Key", "k-1").statusCode(202)
                .body("generation_id", equalTo(first));
        post("/v1/generations", token, BODY, "Idempotency-Key", "k-3").statusCode(429);
        assertRows(3, 3);
        assertEquals(1, rows("idempotency_keys"));
    }

    @Test
    void aModelOutsideTheAllowlistIs400NamingTheAllowedOnesAndCostsNoToken() {
        for (int i = 0; i < 7; i++) {
            post("/v1/generations", token, "{\"prompt\":\"x\",\"model_id\":\"acme/expensive\"}").statusCode(400)
                    .contentType("application/problem+json")
                    .body("errors[0].field", equalTo("model_id"))
                    .body("errors[0].message", containsString("black-forest-labs/flux-schnell, black-forest-labs/flux-dev,"
                            + " stability-ai/sdxl"));
        }
        enqueue("{\"prompt\":\"x\",\"model_id\":\"stability-ai/sdxl\"}");
        assertRows(1, 1);
    }
}
