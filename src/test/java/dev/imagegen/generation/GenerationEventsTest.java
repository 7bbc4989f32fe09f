package dev.imagegen.generation;

import static dev.imagegen.testsupport.Tokens.bearer;
import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Flow;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.quarkus.arc.ClientProxy;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;

import dev.imagegen.testsupport.Db;
import dev.imagegen.testsupport.FakeReplicate;
import dev.imagegen.testsupport.InjectFakeReplicate;
import dev.imagegen.testsupport.Tokens;

/** {@code GET /v1/generations/{id}/events} over real HTTP, against the real database, worker and fake Replicate. */
@QuarkusTest
public class GenerationEventsTest {

    static final Duration WAIT = Duration.ofSeconds(30);

    /** The order statuses appear in on a successful run. */
    static final List<String> HAPPY_PATH = List.of("queued", "processing", "downloading", "completed");

    @Inject
    Pool pool;

    @Inject
    GenerationEvents events;

    @InjectFakeReplicate
    FakeReplicate replicate;

    @TestHTTPResource("/")
    URL base;

    String userId = "sse-" + UUID.randomUUID();
    String user = Tokens.user(userId);

    final List<SseClient> opened = new ArrayList<>();

    @BeforeEach
    void clean() {
        Db.clean(pool);
        replicate.reset();
    }

    @AfterEach
    void closeStreams() {
        opened.forEach(SseClient::cancel);
        GenerationEvents bean = ClientProxy.unwrap(events);
        bean.keepAliveAfter = GenerationEvents.KEEP_ALIVE;
        bean.safetyPoll = Duration.ofSeconds(GenerationEvents.SAFETY_POLL_SECONDS);
        bean.caps.maxPerUser = 10;
        await().atMost(WAIT).until(() -> events.followerCount() == 0);
    }

    SseClient subscribe(String id, String token) {
        SseClient c = SseClient.open(URI.create(base + "v1/generations/" + id + "/events"), token == null ? null : bearer(token));
        opened.add(c);
        return c;
    }

    /** A queued generation whose job the worker leaves alone (run_at in the future), written by plain SQL. */
    UUID parked(String owner) {
        UUID id = Db.query(pool, """
                INSERT INTO image_generations (user_id, prompt, model_id, parameters, status)
                VALUES ($1, 'events test', 'black-forest-labs/flux-schnell',
                        '{"width":512,"height":512,"num_outputs":1,"output_format":"png"}', 'queued')
                RETURNING id""", owner).get(0).getUUID(0);
        Db.exec(pool, """
                INSERT INTO job_queue (job_type, payload, generation_id, run_at)
                VALUES ('generate_image', jsonb_build_object('generation_id', $1::uuid), $1, now() + interval '1 hour')""", id);
        return id;
    }

    JsonObject get(UUID id) {
        return new JsonObject(given().header("Authorization", bearer(user)).get("/v1/generations/" + id).then()
                .statusCode(200).extract().asString());
    }

    @Test
    void aGenerationProcessedByTheWorkerStreamsItsCurrentStateThenEachChangeUpToCompleted() {
        replicate.predictionDelay(Duration.ofMillis(400));
        UUID id = parked(userId);
        SseClient sse = subscribe(id.toString(), user);
        await().atMost(WAIT).until(() -> sse.statuses().size() >= 1);
        assertEquals(200, sse.status());
        assertTrue(sse.contentType().startsWith("text/event-stream"), sse.contentType());
        assertEquals(List.of("queued"), sse.statuses(), "the first event is the current state");

        // Hand the job to this replica's worker.
        Db.exec(pool, "UPDATE job_queue SET run_at = now() WHERE generation_id = $1", id);
        await().atMost(WAIT).until(sse::closed);

        List<String> seen = sse.statuses();
        assertEquals("completed", seen.get(seen.size() - 1), seen.toString());
        assertTrue(seen.contains("processing"), "a status that lasts hundreds of milliseconds is not skipped: " + seen);
        int previous = -1;
        for (String s : seen) {
            int at = HAPPY_PATH.indexOf(s);
            assertTrue(at > previous, "statuses in order, each once: " + seen);
            previous = at;
        }
        for (SseClient.Event e : sse.events()) {
            assertEquals("status", e.name());
        }
        // The data is the generation exactly as GET /v1/generations/{id} returns it, images included.
        JsonObject last = new JsonObject(sse.events().get(sse.events().size() - 1).data());
        assertEquals(1, last.getJsonArray("images").size());
        assertEquals(get(id), last);
        assertFalse(sse.failed(), "the server ended the stream cleanly");
    }

    @Test
    void aStatusChangeMadeByPlainSqlReachesTheSubscriber() {
        UUID id = parked(userId);
        SseClient sse = subscribe(id.toString(), user);
        await().atMost(WAIT).until(() -> sse.statuses().equals(List.of("queued")));

        // Another replica's worker, as far as this one can tell: the trigger's NOTIFY is all it gets.
        Db.exec(pool, "UPDATE image_generations SET status = 'processing', started_at = now() WHERE id = $1", id);
        await().atMost(WAIT).until(() -> sse.statuses().equals(List.of("queued", "processing")));
        assertEquals(get(id), new JsonObject(sse.events().get(1).data()));

        // A statement that leaves the status as it is announces nothing and sends nothing.
        Db.exec(pool, "UPDATE image_generations SET updated_at = now() WHERE id = $1", id);
        Db.exec(pool, """
                UPDATE image_generations SET status = 'failed', error_message = 'boom', completed_at = now()
                 WHERE id = $1""", id);
        await().atMost(WAIT).until(sse::closed);
        assertEquals(List.of("queued", "processing", "failed"), sse.statuses());
        assertEquals("boom", new JsonObject(sse.events().get(2).data()).getString("error_message"));
    }

    @Test
    void aChangeWhoseNotificationIsLostArrivesByTheSafetyReRead() {
        ClientProxy.unwrap(events).safetyPoll = Duration.ofMillis(500);
        UUID id = parked(userId);
        SseClient sse = subscribe(id.toString(), user);
        await().atMost(WAIT).until(() -> sse.statuses().equals(List.of("queued")));
        Db.exec(pool, "ALTER TABLE image_generations DISABLE TRIGGER image_generations_status_notify");
        try {
            Db.exec(pool, "UPDATE image_generations SET status = 'canceled', completed_at = now() WHERE id = $1", id);
        } finally {
            Db.exec(pool, "ALTER TABLE image_generations ENABLE TRIGGER image_generations_status_notify");
        }
        await().atMost(WAIT).until(sse::closed);
        assertEquals(List.of("queued", "canceled"), sse.statuses());
    }

    @Test
    void aFinishedGenerationStreamsOneEventAndCloses() {
        UUID id = parked(userId);
        Db.exec(pool, "UPDATE image_generations SET status = 'canceled', completed_at = now() WHERE id = $1", id);
        SseClient sse = subscribe(id.toString(), user);
        await().atMost(WAIT).until(sse::closed);
        assertEquals(List.of("canceled"), sse.statuses());
        assertFalse(sse.failed());
    }

    @Test
    void anIdleStreamGetsKeepAliveComments() {
        ClientProxy.unwrap(events).keepAliveAfter = Duration.ofMillis(200);
        UUID id = parked(userId);
        SseClient sse = subscribe(id.toString(), user);
        await().atMost(WAIT).until(() -> sse.comments().size() >= 2);
        assertEquals("keep-alive", sse.comments().get(0));
        assertEquals(List.of("queued"), sse.statuses());
    }

    @Test
    void anotherUsersOrAnUnknownIdIs404AndNoTokenIs401BeforeAnyStream() {
        UUID theirs = parked("someone-else");
        for (String id : List.of(theirs.toString(), UUID.randomUUID().toString(), "not-a-uuid")) {
            SseClient sse = subscribe(id, user);
            await().atMost(WAIT).until(sse::closed);
            assertEquals(404, sse.status(), id);
            assertEquals("application/problem+json", sse.contentType());
            assertEquals(404, new JsonObject(sse.body()).getInteger("status"));
        }
        SseClient anonymous = subscribe(theirs.toString(), null);
        await().atMost(WAIT).until(anonymous::closed);
        assertEquals(401, anonymous.status());
        assertEquals("Bearer", anonymous.header("WWW-Authenticate"));
        assertEquals("application/problem+json", anonymous.contentType());

        SseClient expired = subscribe(theirs.toString(), Tokens.raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
                "{\"sub\":\"" + userId + "\",\"exp\":" + Tokens.inSeconds(-60) + "}", Tokens.SECRET));
        await().atMost(WAIT).until(expired::closed);
        assertEquals(401, expired.status());

        // An operator may follow anyone's generation.
        SseClient operator = subscribe(theirs.toString(), Tokens.operator());
        await().atMost(WAIT).until(() -> operator.statuses().equals(List.of("queued")));
        assertEquals(1, events.followerCount(), "refused requests hold no subscription");
    }

    @Test
    void fiftyConcurrentSubscribersAllReceiveTheTerminalEvent() {
        ClientProxy.unwrap(events).caps.maxPerUser = 50; // one user's 50 streams: over the default cap of 10
        UUID id = parked(userId);
        List<SseClient> clients = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            clients.add(subscribe(id.toString(), user));
        }
        await().atMost(WAIT).until(() -> clients.stream().allMatch(c -> c.statuses().size() == 1));
        Db.exec(pool, "UPDATE image_generations SET status = 'processing', started_at = now() WHERE id = $1", id);
        Db.exec(pool, "UPDATE image_generations SET status = 'completed', completed_at = now() WHERE id = $1", id);
        await().atMost(WAIT).until(() -> clients.stream().allMatch(SseClient::closed));
        for (SseClient c : clients) {
            List<String> seen = c.statuses();
            assertEquals("queued", seen.get(0));
            assertEquals("completed", seen.get(seen.size() - 1), seen.toString());
            assertFalse(c.failed());
        }
        await().atMost(WAIT).until(() -> events.followerCount() == 0);
    }

    @Test
    void aClientThatGoesAwayIsUnsubscribed() {
        UUID id = parked(userId);
        SseClient sse = subscribe(id.toString(), user);
        await().atMost(WAIT).until(() -> sse.statuses().size() == 1);
        assertEquals(1, events.followerCount());
        sse.cancel();
        await().atMost(WAIT).until(() -> events.followerCount() == 0);
    }

    /**
     * A small Server-Sent Events client on java.net.http: one HTTP/1.1 connection per stream, lines parsed as
     * they arrive, no thread per stream. Public for the benchmark.
     */
    public static final class SseClient implements Flow.Subscriber<String> {

        private static final HttpClient CLIENT = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10))
                .build();

        /** One dispatched event, with its {@code id:} (null if it had none). */
        public record Event(String name, String data, String id) {
        }

        private final List<Event> events = new CopyOnWriteArrayList<>();
        private final List<String> comments = new CopyOnWriteArrayList<>();
        private final StringBuilder raw = new StringBuilder();
        private final CompletableFuture<Void> done = new CompletableFuture<>();
        private volatile HttpResponse.ResponseInfo info;
        private volatile Flow.Subscription subscription;
        private volatile CompletableFuture<?> exchange;
        private String name;
        private StringBuilder data;
        private String id;

        /** Opens a stream; {@code authorization} is a whole header value, or null for none. */
        public static SseClient open(URI uri, String authorization) {
            return open(CLIENT, uri, authorization);
        }

        public static SseClient open(URI uri, String authorization, java.util.Map<String, String> headers) {
            return open(CLIENT, uri, authorization, headers);
        }

        public static SseClient open(HttpClient client, URI uri, String authorization) {
            return open(client, uri, authorization, java.util.Map.of());
        }

        /** Opens a stream with more request headers (for example {@code Last-Event-ID} or {@code Origin}). */
        public static SseClient open(HttpClient client, URI uri, String authorization, java.util.Map<String, String> headers) {
            SseClient c = new SseClient();
            HttpRequest.Builder b = HttpRequest.newBuilder(uri).header("Accept", "text/event-stream").GET();
            if (authorization != null) {
                b.header("Authorization", authorization);
            }
            headers.forEach(b::header);
            c.exchange = client.sendAsync(b.build(), info -> {
                c.info = info;
                return HttpResponse.BodySubscribers.fromLineSubscriber(c, s -> null, StandardCharsets.UTF_8, null);
            }).whenComplete((r, e) -> {
                if (e != null) {
                    c.done.completeExceptionally(e);
                }
            });
            return c;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            s.request(Long.MAX_VALUE);
        }

        @Override
        public synchronized void onNext(String line) {
            if (raw.length() < 64 * 1024) {
                raw.append(line).append('\n');
            }
            if (line.isEmpty()) {
                if (data != null) {
                    events.add(new Event(name == null ? "message" : name, data.toString(), id));
                }
                name = null;
                data = null;
                id = null;
            } else if (line.startsWith(":")) {
                comments.add(line.substring(1).trim());
            } else {
                int colon = line.indexOf(':');
                String field = colon < 0 ? line : line.substring(0, colon);
                String value = colon < 0 ? "" : line.substring(colon + 1);
                if (value.startsWith(" ")) {
                    value = value.substring(1);
                }
                if (field.equals("event")) {
                    name = value;
                } else if (field.equals("id")) {
                    id = value;
                } else if (field.equals("data")) {
                    data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
                }
            }
        }

        @Override
        public void onError(Throwable t) {
            done.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
            done.complete(null);
        }

        public List<Event> events() {
            return List.copyOf(events);
        }

        /** The {@code status} of each event's generation JSON, in order. */
        public List<String> statuses() {
            List<String> out = new ArrayList<>();
            for (Event e : events) {
                out.add(new JsonObject(e.data()).getString("status"));
            }
            return out;
        }

        public List<String> comments() {
            return List.copyOf(comments);
        }

        public boolean closed() {
            return done.isDone();
        }

        /** Whether the stream ended with an error rather than the server's clean end. */
        public boolean failed() {
            return done.isCompletedExceptionally();
        }

        public int status() {
            return info == null ? -1 : info.statusCode();
        }

        public String header(String name) {
            return info == null ? null : info.headers().firstValue(name).orElse(null);
        }

        public String contentType() {
            return header("Content-Type");
        }

        public synchronized String body() {
            return raw.toString();
        }

        /** Drops the connection, as a client that goes away does. */
        public void cancel() {
            Flow.Subscription s = subscription;
            if (s != null) {
                s.cancel();
            }
            CompletableFuture<?> x = exchange;
            if (x != null) {
                x.cancel(true);
            }
            done.complete(null);
        }
    }
}
