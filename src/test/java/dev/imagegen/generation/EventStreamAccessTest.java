package dev.imagegen.generation;

import static dev.imagegen.testsupport.Tokens.bearer;
import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.quarkus.arc.ClientProxy;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;

import dev.imagegen.generation.GenerationEventsTest.SseClient;
import dev.imagegen.testsupport.Db;
import dev.imagegen.testsupport.Tokens;

/**
 * Who may open an event stream, and how many: the signed {@code events_url} (no header), its refusals,
 * {@code Last-Event-ID}, and the per-user and per-replica caps. Real HTTP, real database, real worker.
 */
@QuarkusTest
class EventStreamAccessTest {

    static final Duration WAIT = Duration.ofSeconds(30);

    @Inject
    Pool pool;

    @Inject
    GenerationEvents events;

    @TestHTTPResource("/")
    URL base;

    String userId = "links-" + UUID.randomUUID();
    String user = Tokens.user(userId);

    final List<SseClient> opened = new ArrayList<>();

    @BeforeEach
    void clean() {
        Db.clean(pool);
    }

    @AfterEach
    void closeStreams() {
        opened.forEach(SseClient::cancel);
        GenerationEvents bean = ClientProxy.unwrap(events);
        bean.caps.maxPerReplica = 2000;
        bean.caps.maxPerUser = 10;
        await().atMost(WAIT).until(() -> events.followerCount() == 0 && events.openStreams() == 0);
    }

    /** A queued generation whose job the worker leaves alone (run_at in the future). */
    UUID parked(String owner) {
        UUID id = Db.query(pool, """
                INSERT INTO image_generations (user_id, prompt, model_id, parameters, status)
                VALUES ($1, 'links test', 'black-forest-labs/flux-schnell',
                        '{"width":512,"height":512,"num_outputs":1,"output_format":"png"}', 'queued')
                RETURNING id""", owner).get(0).getUUID(0);
        Db.exec(pool, """
                INSERT INTO job_queue (job_type, payload, generation_id, run_at)
                VALUES ('generate_image', jsonb_build_object('generation_id', $1::uuid), $1, now() + interval '1 hour')""", id);
        return id;
    }

    String eventsUrl(UUID id) {
        return new JsonObject(given().header("Authorization", bearer(user)).get("/v1/generations/" + id).then()
                .statusCode(200).extract().asString()).getString("events_url");
    }

    /** The link's path and query against this test's server (the absolute link names the configured public URL). */
    URI local(String link) {
        URI u = URI.create(link);
        return URI.create(base.toString().replaceAll("/$", "") + u.getRawPath() + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery()));
    }

    SseClient open(URI uri, String token, Map<String, String> headers) {
        SseClient c = SseClient.open(uri, token == null ? null : bearer(token), headers);
        opened.add(c);
        return c;
    }

    SseClient openLink(String link) {
        return open(local(link), null, Map.of());
    }

    SseClient openWithToken(UUID id, String token) {
        return open(URI.create(base + "v1/generations/" + id + "/events"), token, Map.of());
    }

    static void assertProblem(SseClient refused, int status) {
        await().atMost(WAIT).until(refused::closed);
        assertEquals(status, refused.status(), refused.body());
        assertEquals("application/problem+json", refused.contentType());
        JsonObject problem = new JsonObject(refused.body());
        assertEquals(status, problem.getInteger("status"));
        assertNotNull(problem.getString("detail"));
    }

    @Test
    void bothEnqueueRoutesAnswerAnAbsoluteEventsUrlThatStreamsWithNoHeader() {
        for (String route : List.of("/v1/generations", "/functions/v1/start-generation")) {
            JsonObject answer = new JsonObject(given().header("Authorization", bearer(user)).contentType(ContentType.JSON)
                    .body("{\"prompt\":\"a lighthouse\"}").post(route).then().statusCode(202).extract().asString());
            String link = answer.getString("events_url");
            assertNotNull(link, route);
            assertTrue(URI.create(link).isAbsolute(), link);
            assertTrue(link.contains("/v1/generations/" + answer.getString("generation_id") + "/events?"), link);
            long expires = Long.parseLong(URI.create(link).getRawQuery().replaceAll(".*expires=([0-9]+).*", "$1"));
            assertTrue(expires >= Tokens.inSeconds(3600), "valid for at least an hour: " + link);
            assertEquals(link, eventsUrl(UUID.fromString(answer.getString("generation_id"))),
                    "GET /v1/generations/{id} carries the same link");

            SseClient sse = openLink(link);
            await().atMost(WAIT).until(sse::closed);
            assertEquals(200, sse.status(), sse.body());
            assertEquals("completed", sse.statuses().get(sse.statuses().size() - 1), sse.statuses().toString());
            assertFalse(sse.failed());
        }
    }

    @Test
    void everyEventHasAnIdAndAReconnectWithLastEventIdGetsTheCurrentStateAtOnce() {
        UUID id = parked(userId);
        String link = eventsUrl(id);
        SseClient first = openLink(link);
        await().atMost(WAIT).until(() -> first.statuses().equals(List.of("queued")));
        Db.exec(pool, "UPDATE image_generations SET status = 'processing', started_at = now() WHERE id = $1", id);
        await().atMost(WAIT).until(() -> first.statuses().equals(List.of("queued", "processing")));
        String queuedId = first.events().get(0).id();
        String processingId = first.events().get(1).id();
        assertNotNull(queuedId);
        assertNotNull(processingId);
        assertNotEquals(queuedId, processingId, "each state has its own id");
        first.cancel();

        // What an EventSource does after a dropped connection: the same URL, with the last id it saw.
        SseClient again = open(local(link), null, Map.of("Last-Event-ID", queuedId));
        await().atMost(WAIT).until(() -> again.statuses().size() == 1);
        assertEquals(List.of("processing"), again.statuses());
        assertEquals(processingId, again.events().get(0).id(), "the id names the state, the same on any connection");

        // Also with a bearer token.
        SseClient withToken = open(URI.create(base + "v1/generations/" + id + "/events"), user,
                Map.of("Last-Event-ID", processingId));
        await().atMost(WAIT).until(() -> withToken.statuses().size() == 1);
        assertEquals(processingId, withToken.events().get(0).id());
    }

    @Test
    void aTamperedExpiredOrOtherGenerationsLinkIsRefusedWithoutAStream() {
        UUID mine = parked(userId);
        UUID other = parked("someone-else");
        URI good = URI.create(eventsUrl(mine));
        String query = good.getRawQuery();
        String expires = query.replaceAll(".*expires=([0-9]+).*", "$1");
        String sig = query.replaceAll(".*sig=([A-Za-z0-9_-]+).*", "$1");
        String flipped = (sig.charAt(0) == 'A' ? "B" : "A") + sig.substring(1);
        long past = Tokens.inSeconds(-60);

        List<String> refused = List.of(
                "/v1/generations/" + mine + "/events?expires=" + expires + "&sig=" + flipped,
                "/v1/generations/" + mine + "/events?expires=" + (Long.parseLong(expires) + 3600) + "&sig=" + sig,
                "/v1/generations/" + other + "/events?" + query,
                "/v1/generations/" + mine + "/events?expires=" + past + "&sig=" + sign(mine, past),
                "/v1/generations/" + mine + "/events?expires=" + expires,
                "/v1/generations/" + mine + "/events?sig=" + sig,
                "/v1/generations/" + mine + "/events?expires=abc&sig=" + sig);
        for (String path : refused) {
            SseClient sse = openLink("http://ignored" + path);
            assertProblem(sse, 401);
            assertTrue(sse.events().isEmpty(), path);
        }
        // The unexpired, untampered link is accepted, and a correctly signed expired one was refused only for its age.
        SseClient ok = openLink(good.toString());
        await().atMost(WAIT).until(() -> ok.statuses().equals(List.of("queued")));
        assertEquals(1, events.followerCount(), "refused links hold no subscription");
    }

    @Test
    void oneStreamOverTheUsersCapIs429WithRetryAfterAndLinksCountAgainstTheOwner() {
        UUID id = parked(userId);
        List<SseClient> streams = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            streams.add(openWithToken(id, user));
        }
        streams.add(openLink(eventsUrl(id)));
        await().atMost(WAIT).until(() -> streams.stream().allMatch(s -> s.statuses().size() == 1));

        SseClient eleventh = openWithToken(id, user);
        assertProblem(eleventh, 429);
        assertTrue(Integer.parseInt(eleventh.header("Retry-After")) > 0);
        SseClient byLink = openLink(eventsUrl(id));
        assertProblem(byLink, 429);

        // Another user and an operator are not affected.
        String otherUser = "links-other-" + UUID.randomUUID();
        SseClient other = openWithToken(parked(otherUser), Tokens.user(otherUser));
        SseClient operator = openWithToken(id, Tokens.operator());
        await().atMost(WAIT).until(() -> other.statuses().size() == 1 && operator.statuses().size() == 1);

        // A closed stream frees its place.
        streams.get(0).cancel();
        await().atMost(WAIT).until(() -> events.openStreams() == 11);
        SseClient again = openWithToken(id, user);
        await().atMost(WAIT).until(() -> again.statuses().size() == 1);
        assertEquals(200, again.status());
        assertEquals(12, events.openStreams());
    }

    @Test
    void oneStreamOverTheReplicasCapIs503WithRetryAfter() {
        ClientProxy.unwrap(events).caps.maxPerReplica = 2;
        UUID id = parked(userId);
        SseClient a = openWithToken(id, user);
        SseClient b = openWithToken(id, Tokens.operator());
        await().atMost(WAIT).until(() -> a.statuses().size() == 1 && b.statuses().size() == 1);
        SseClient third = openWithToken(id, Tokens.operator());
        assertProblem(third, 503);
        assertTrue(Integer.parseInt(third.header("Retry-After")) > 0);
        assertEquals(2, events.followerCount());
        String metrics = given().get("/q/metrics").then().statusCode(200).extract().asString();
        assertTrue(metrics.contains("imagegen_streams_refused_total{reason=\"replica_limit\"}"), "refusals are counted");
        assertTrue(metrics.contains("imagegen_streams_open 2.0"), "open streams are measured");
    }

    /** An events link signed exactly as the service signs them (HMAC-SHA256, key derived from the JWT secret). */
    static String sign(UUID id, long expires) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(Tokens.SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            byte[] key = mac.doFinal("imagegen-image-links-v1".getBytes(StandardCharsets.UTF_8));
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            byte[] sig = mac.doFinal(("events:" + id + "." + expires).getBytes(StandardCharsets.UTF_8));
            return Base64.getUrlEncoder().withoutPadding().encodeToString(sig);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
