package dev.imagegen.packaged;

import static dev.imagegen.testsupport.Tokens.bearer;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.vertx.core.json.JsonObject;

import dev.imagegen.testsupport.Tokens;

/**
 * The packaged application, as it ships: {@code target/quarkus-app/quarkus-run.jar} in the {@code prod} profile
 * under {@code ./mvnw verify}, and the native executable, unchanged, under {@code ./mvnw verify -Dnative}. It
 * runs in its own process against a real PostgreSQL (PostgresResource) and the Replicate fake over real HTTP
 * (FakeReplicateResource), so only HTTP reaches it: no bean, no database handle.
 */
@QuarkusIntegrationTest
@QuarkusTestResource(value = ProdSettingsResource.class, restrictToAnnotatedClass = true)
class PackagedApplicationIT {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final byte[] PNG_SIGNATURE = { (byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    @TestHTTPResource("/")
    URL base;

    private final String user = Tokens.user("packaged-" + UUID.randomUUID());

    @Test
    void enqueueStreamsItsStatusesToCompletedAndServesTheImage() throws Exception {
        String id = given().header("Authorization", bearer(user)).contentType(ContentType.JSON)
                .body("{\"prompt\":\"a lighthouse at dusk\",\"width\":256,\"height\":256}")
                .post("/v1/generations")
                .then().statusCode(202).extract().path("generation_id");

        List<JsonObject> events = statusEvents(id);
        assertFalse(events.isEmpty(), "the stream sent no status event");
        assertEquals("completed", events.get(events.size() - 1).getString("status"), "last event: " + events);

        JsonObject generation = new JsonObject(given().header("Authorization", bearer(user))
                .get("/v1/generations/" + id).then().statusCode(200).extract().asString());
        assertEquals("completed", generation.getString("status"));
        JsonObject image = generation.getJsonArray("images").getJsonObject(0);

        Response content = given().header("Authorization", bearer(user))
                .get("/v1/images/" + image.getString("id") + "/content");
        assertEquals(200, content.statusCode());
        assertEquals(image.getString("content_type"), content.contentType());
        byte[] bytes = content.asByteArray();
        assertEquals(image.getLong("size_bytes"), (long) bytes.length);
        byte[] head = new byte[PNG_SIGNATURE.length];
        System.arraycopy(bytes, 0, head, 0, head.length);
        assertArrayEquals(PNG_SIGNATURE, head, "the fake draws PNG files");
        assertEquals(image.getString("sha256"), HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)));
    }

    @Test
    void operatorReadsQueueHealthAndTheServiceIsReady() {
        given().header("Authorization", bearer(Tokens.operator())).get("/v1/admin/queue/health")
                .then().statusCode(200).contentType(ContentType.JSON);
        String ready = given().get("/q/health/ready").then().statusCode(200).extract().asString();
        assertEquals("UP", new JsonObject(ready).getString("status"), ready);
    }

    @Test
    void missingTokenIs401Problem() {
        Response r = given().get("/v1/generations");
        assertEquals(401, r.statusCode());
        assertTrue(r.contentType().startsWith("application/problem+json"), r.contentType());
        assertTrue(r.header("WWW-Authenticate").startsWith("Bearer"), r.header("WWW-Authenticate"));
        assertEquals(401, new JsonObject(r.asString()).getInteger("status"));
    }

    @Test
    void invalidBodyIs400Problem() {
        Response r = given().header("Authorization", bearer(user)).contentType(ContentType.JSON)
                .body("{\"prompt\":\"a cat\",\"width\":\"1024\"}").post("/v1/generations");
        assertEquals(400, r.statusCode());
        assertTrue(r.contentType().startsWith("application/problem+json"), r.contentType());
        assertEquals(400, new JsonObject(r.asString()).getInteger("status"));
    }

    /**
     * The production build leaves the dev-only beans out at build time: no Replicate simulator route, whatever the
     * request, and no dev tokens printed at start.
     */
    @Test
    void productionBuildNeverMountsTheSimulatorNorIssuesDevTokens() throws IOException {
        for (String path : List.of("/simulator/replicate/v1/predictions", "/simulator/replicate/v1/webhooks/default/secret")) {
            Response r = given().header("Authorization", "Bearer anything").get(path);
            assertEquals(404, r.statusCode(), path);
            assertTrue(r.contentType().startsWith("application/problem+json"), path + ": " + r.contentType());
        }
        given().header("Authorization", "Bearer anything").contentType(ContentType.JSON)
                .body("{\"version\":\"7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc\",\"input\":{\"prompt\":\"x\"}}")
                .post("/simulator/replicate/v1/predictions").then().statusCode(404);

        String log = Files.readString(applicationLog());
        assertTrue(log.contains("Profile prod activated"), "the packaged application runs in prod:\n" + log);
        assertFalse(log.contains("Dev bearer tokens"), "prod printed dev tokens");
        assertFalse(log.contains("Replicate simulator"), "prod mentioned the simulator");
    }

    /** The launched application's console output, which the integration-test launcher writes to {@code target/}. */
    private static Path applicationLog() throws IOException {
        Path log = Path.of("target", "quarkus.log");
        if (Files.isRegularFile(log)) {
            return log;
        }
        try (Stream<Path> files = Files.list(Path.of("target"))) {
            return files.filter(p -> p.getFileName().toString().startsWith("quarkus") && p.toString().endsWith(".log"))
                    .findFirst().orElseThrow(() -> new AssertionError("no application log under target/"));
        }
    }

    /** Every {@code status} event of the generation's stream, read until the server ends it (after a terminal status). */
    private List<JsonObject> statusEvents(String id) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + "v1/generations/" + id + "/events"))
                .header("Authorization", bearer(user)).header("Accept", "text/event-stream")
                .timeout(WAIT).GET().build();
        CompletableFuture<List<JsonObject>> read = HTTP.sendAsync(request, HttpResponse.BodyHandlers.ofLines())
                .thenApply(response -> {
                    assertEquals(200, response.statusCode());
                    assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
                    List<JsonObject> events = new ArrayList<>();
                    String[] event = { null };
                    response.body().forEach(line -> {
                        if (line.startsWith("event:")) {
                            event[0] = line.substring(6).trim();
                        } else if (line.startsWith("data:") && "status".equals(event[0])) {
                            events.add(new JsonObject(line.substring(5).trim()));
                        }
                    });
                    return events;
                });
        List<JsonObject> events = read.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertNotNull(events);
        return events;
    }
}
