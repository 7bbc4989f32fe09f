package dev.imagegen.testsupport;

import static dev.imagegen.testsupport.TestHttp.get;
import static dev.imagegen.testsupport.TestHttp.getBytes;
import static dev.imagegen.testsupport.TestHttp.json;
import static dev.imagegen.testsupport.TestHttp.post;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.imagegen.simulator.Route;
import dev.imagegen.simulator.WebhookAttempt;
import dev.imagegen.testsupport.FakeReplicate.ReceivedWebhook;
import dev.imagegen.testsupport.FakeReplicate.RetryAfterVia;
import dev.imagegen.webhook.StandardWebhooks;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

class FakeReplicateTest {

    private static final String AUTH = "Bearer " + FakeReplicate.TEST_TOKEN;
    private static final byte[] PNG_SIGNATURE = { (byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

    private static FakeReplicate fake;

    @BeforeAll
    static void start() {
        fake = FakeReplicate.start(Duration.ofMillis(100)).requireToken(FakeReplicate.TEST_TOKEN);
    }

    @AfterAll
    static void stop() {
        fake.close();
    }

    @BeforeEach
    void reset() {
        fake.reset();
    }

    @Test
    void exposesItsAddresses() {
        assertTrue(fake.baseUrl().matches("http://127\\.0\\.0\\.1:\\d+"), fake.baseUrl());
        assertEquals(fake.baseUrl() + "/v1", fake.apiUrl());
        assertEquals(fake.baseUrl() + "/files", fake.filesBaseUrl());
    }

    @Test
    void recordsCreateBodiesAndHeaders() {
        JsonObject body = new JsonObject().put("input", new JsonObject().put("prompt", "a cat").put("aspect_ratio", "3:2"));
        String id = json(create(body, "Prefer", "wait=5")).getString("id");

        assertEquals(body, fake.lastCreateBody());
        FakeReplicate.RecordedRequest request = fake.lastRequest(Route.CREATE).orElseThrow();
        assertEquals(AUTH, request.header("Authorization"));
        assertEquals("wait=5", request.header("prefer"));
        assertEquals("/v1/models/black-forest-labs/flux-schnell/predictions", request.path());
        assertEquals(1, fake.createCount());
        assertEquals(List.of(id), fake.predictionIds());
        assertEquals(id, fake.lastPredictionId().orElseThrow());
    }

    @Test
    void refusesOtherTokensEvenAfterReset() {
        fake.reset();
        HttpResponse<String> r = post(fake.apiUrl() + "/models/black-forest-labs/flux-schnell/predictions", input("x"),
                "Authorization", "Bearer r8_wrong");
        assertEquals(401, r.statusCode());
        assertEquals("You did not pass a valid authentication token", json(r).getString("detail"));
        assertEquals(0, fake.createCount());
    }

    @Test
    void fullFlowProducesADecodablePng() throws IOException {
        String id = json(create(input("sunset"))).getString("id");
        JsonObject done = awaitTerminal(id);
        assertEquals("succeeded", done.getString("status"));
        String url = done.getJsonArray("output").getString(0);
        assertTrue(url.startsWith(fake.filesBaseUrl() + "/" + id + "/"), url);
        HttpResponse<byte[]> file = getBytes(url);
        assertEquals(200, file.statusCode());
        assertEquals(1024, ImageIO.read(new java.io.ByteArrayInputStream(file.body())).getWidth());
        assertTrue(fake.getCount(id) >= 1);
    }

    // ------------------------------------------------------------ per-request faults

    @Test
    void failNextAnswersTheStatusThenRecovers() {
        fake.failNext(Route.CREATE, 503, 2);
        HttpResponse<String> first = create(input("x"));
        assertEquals(503, first.statusCode());
        assertTrue(first.headers().firstValue("Content-Type").orElseThrow().startsWith("text/html"));
        assertEquals(503, create(input("x")).statusCode());
        assertEquals(201, create(input("x")).statusCode());
        assertEquals(3, fake.calls(Route.CREATE));
        assertEquals(1, fake.createCount());

        fake.failNext(Route.GET, 404, 1);
        HttpResponse<String> notFound = get(fake.apiUrl() + "/predictions/" + fake.lastPredictionId().orElseThrow(),
                "Authorization", AUTH);
        assertEquals(404, notFound.statusCode());
        assertEquals(404, json(notFound).getInteger("status"));
    }

    @Test
    void respondNextSendsAnExactAnswer() {
        fake.respondNext(Route.CREATE, 402, Map.of("Content-Type", "application/problem+json"),
                "{\"title\":\"Insufficient credit\",\"detail\":\"You have insufficient credit to run this model.\"}", 1);
        HttpResponse<String> r = create(input("x"));
        assertEquals(402, r.statusCode());
        assertEquals("Insufficient credit", json(r).getString("title"));
    }

    @Test
    void throttleNextViaHeaderOrBody() {
        fake.throttleNext(Route.CREATE, 7, RetryAfterVia.HEADER);
        HttpResponse<String> byHeader = create(input("x"));
        assertEquals(429, byHeader.statusCode());
        assertEquals("7", byHeader.headers().firstValue("Retry-After").orElseThrow());
        assertFalse(json(byHeader).containsKey("retry_after"));

        fake.throttleNext(Route.CREATE, 5, RetryAfterVia.BODY);
        HttpResponse<String> byBody = create(input("x"));
        assertEquals(429, byBody.statusCode());
        assertTrue(byBody.headers().firstValue("Retry-After").isEmpty());
        assertEquals(5, json(byBody).getInteger("retry_after"));
        assertTrue(json(byBody).getString("detail").startsWith("Request was throttled."));

        assertEquals(201, create(input("x")).statusCode());
    }

    @Test
    void hangNextNeverAnswers() throws Exception {
        String id = json(create(input("x"))).getString("id");
        fake.hangNext(Route.GET, 1);
        var request = TestHttp.request(fake.apiUrl() + "/predictions/" + id, "Authorization", AUTH)
                .timeout(Duration.ofMillis(300)).GET().build();
        assertThrows(HttpTimeoutException.class, () -> TestHttp.sendRaw(request, HttpResponse.BodyHandlers.ofString()));
        assertEquals(200, get(fake.apiUrl() + "/predictions/" + id, "Authorization", AUTH).statusCode());
        assertEquals(2, fake.calls(Route.GET));
    }

    @Test
    void resetNextDropsTheConnection() {
        fake.resetNext(Route.CREATE, 1);
        var request = TestHttp.request(fake.apiUrl() + "/models/black-forest-labs/flux-schnell/predictions",
                "Authorization", AUTH, "Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(input("x").encode())).build();
        assertThrows(IOException.class, () -> TestHttp.sendRaw(request, HttpResponse.BodyHandlers.ofString()));
        assertEquals(0, fake.createCount());
        assertEquals(201, create(input("x")).statusCode());
    }

    @Test
    void delayNextStillServes() {
        fake.delayNext(Route.CREATE, Duration.ofMillis(200), 1).latency(Route.GET, Duration.ofMillis(10));
        String id = json(create(input("slow"))).getString("id");
        assertEquals(200, get(fake.apiUrl() + "/predictions/" + id, "Authorization", AUTH).statusCode());
    }

    // ------------------------------------------------------------ outcomes

    @Test
    void failsPredictionsByPrompt() {
        String error = "NSFW content detected. Try running it again, or try a different prompt.";
        fake.failPredictionsWithPrompt("forbidden", error);
        String failed = json(create(input("something forbidden"))).getString("id");
        String fine = json(create(input("something nice"))).getString("id");

        JsonObject f = awaitTerminal(failed);
        assertEquals("failed", f.getString("status"));
        assertEquals(error, f.getString("error"));
        assertNull(f.getValue("output"));
        assertEquals("succeeded", awaitTerminal(fine).getString("status"));
    }

    @Test
    void cancelsAbortsAndStallsByPrompt() {
        fake.cancelPredictionsWithPrompt("cancel-me").abortPredictionsWithPrompt("abort-me").stallPredictionsWithPrompt("stall-me");
        String canceled = json(create(input("cancel-me"))).getString("id");
        String aborted = json(create(input("abort-me"))).getString("id");
        String stalled = json(create(input("stall-me"))).getString("id");

        assertEquals("canceled", awaitTerminal(canceled).getString("status"));
        JsonObject a = awaitTerminal(aborted);
        assertEquals("aborted", a.getString("status"));
        assertFalse(a.containsKey("started_at"));
        await().atMost(Duration.ofSeconds(5)).until(() -> "processing".equals(fake.prediction(stalled).orElseThrow().getString("status")));
        assertEquals(1, fake.running());

        post(fake.apiUrl() + "/predictions/" + stalled + "/cancel", null, "Authorization", AUTH);
        assertEquals("canceled", fake.prediction(stalled).orElseThrow().getString("status"));
        assertEquals(1, fake.cancelCount(stalled));
        assertEquals(0, fake.running());
    }

    @Test
    void tracksTheMostConcurrentPredictions() {
        fake.predictionDelay(Duration.ofHours(1));
        for (int i = 0; i < 4; i++) {
            create(input("parallel " + i));
        }
        assertEquals(4, fake.running());
        assertEquals(4, fake.maxConcurrentRunning());
        fake.reset();
        assertEquals(0, fake.running());
        assertEquals(0, fake.maxConcurrentRunning());
        assertEquals(0, fake.calls(Route.CREATE));
    }

    // ------------------------------------------------------------ outputs and downloads

    @Test
    void truncatedDownloadsBreakMidway() {
        String url = outputOf(json(create(input("truncated"))).getString("id"));
        fake.truncateDownloads(true);
        assertThrows(IOException.class,
                () -> TestHttp.sendRaw(TestHttp.request(url).GET().build(), HttpResponse.BodyHandlers.ofByteArray()));
        fake.truncateDownloads(false);
        assertEquals(200, getBytes(url).statusCode());
    }

    @Test
    void oversizedDownloadsSendTheDeclaredBytes() {
        String url = outputOf(json(create(input("huge"))).getString("id"));
        fake.oversizeDownloads(3 * 1024 * 1024);
        HttpResponse<byte[]> r = getBytes(url);
        assertEquals(200, r.statusCode());
        assertEquals(String.valueOf(3 * 1024 * 1024), r.headers().firstValue("Content-Length").orElseThrow());
        assertEquals(3 * 1024 * 1024, r.body().length);
        assertArrayEquals(PNG_SIGNATURE, Arrays.copyOf(r.body(), 8));
    }

    @Test
    void outputsCanBeDataUris() throws IOException {
        fake.outputsAsDataUri(true);
        JsonObject done = awaitTerminal(json(create(input("inline"))).getString("id"));
        String uri = done.getJsonArray("output").getString(0);
        assertTrue(uri.startsWith("data:image/png;base64,"), uri.substring(0, 40));
        byte[] png = Base64.getDecoder().decode(uri.substring("data:image/png;base64,".length()));
        assertEquals(1024, ImageIO.read(new java.io.ByteArrayInputStream(png)).getHeight());
    }

    @Test
    void outputsCanPointAtAnotherHost() {
        fake.outputsOnHost("evil.example");
        JsonObject done = awaitTerminal(json(create(input("elsewhere"))).getString("id"));
        URI uri = URI.create(done.getJsonArray("output").getString(0));
        assertEquals("evil.example", uri.getHost());
        assertTrue(uri.getPath().endsWith("/out-0.png"));
    }

    @Test
    void expiredOutputsAreGone() {
        String id = json(create(input("expiring"))).getString("id");
        String url = outputOf(id);
        assertTrue(fake.expireOutputs(id));
        assertEquals(404, getBytes(url).statusCode());
        assertTrue(fake.prediction(id).orElseThrow().getBoolean("data_removed"));
    }

    // ------------------------------------------------------------ webhooks

    @Test
    void deliversVerifiableWebhooksToTheSink() {
        JsonObject body = input("hooked").put("webhook", fake.webhookSinkUrl() + "?job=7")
                .put("webhook_events_filter", new JsonArray().add("completed"));
        String id = json(create(body)).getString("id");

        await().atMost(Duration.ofSeconds(10)).until(() -> fake.receivedWebhooks(id).size() == 1);
        ReceivedWebhook hook = fake.receivedWebhooks(id).get(0);
        assertEquals("job=7", hook.query());
        assertEquals(StandardWebhooks.Result.OK, hook.verify(fake.webhookSecret()));
        assertEquals(StandardWebhooks.Result.BAD_SIGNATURE, hook.verify(StandardWebhooks.newSecret()));
        assertEquals("succeeded", hook.json().getString("status"));
        assertEquals(1, hook.json().getJsonArray("output").size());
    }

    @Test
    void retriesTheCompletedWebhookAfterFailures() {
        fake.webhookSinkFailNext(500, 2);
        JsonObject body = input("retry").put("webhook", fake.webhookSinkUrl())
                .put("webhook_events_filter", new JsonArray().add("completed"));
        String id = json(create(body)).getString("id");

        await().atMost(Duration.ofSeconds(10)).until(() -> fake.webhookAttempts(id).stream().anyMatch(WebhookAttempt::delivered));
        List<ReceivedWebhook> received = fake.receivedWebhooks(id);
        assertEquals(List.of(500, 500, 200), received.stream().map(ReceivedWebhook::answeredStatus).toList());
        assertEquals(1, received.stream().map(ReceivedWebhook::id).distinct().count());
    }

    @Test
    void webhooksCanBeDuplicated() {
        fake.webhookCopies(2);
        JsonObject body = input("twice").put("webhook", fake.webhookSinkUrl())
                .put("webhook_events_filter", new JsonArray().add("start").add("completed"));
        String id = json(create(body)).getString("id");

        await().atMost(Duration.ofSeconds(10)).until(() -> fake.receivedWebhooks(id).size() == 4);
        assertEquals(2, fake.receivedWebhooks(id).stream().map(ReceivedWebhook::id).distinct().count());
    }

    @Test
    void closedFakeRefusesConnections() {
        FakeReplicate temporary = FakeReplicate.start();
        String url = temporary.apiUrl() + "/predictions";
        assertEquals(200, get(url, "Authorization", AUTH).statusCode());
        temporary.close();
        assertThrows(java.io.UncheckedIOException.class, () -> get(url, "Authorization", AUTH));
    }

    // ------------------------------------------------------------ helpers

    private static JsonObject input(String prompt) {
        return new JsonObject().put("input", new JsonObject().put("prompt", prompt));
    }

    private static HttpResponse<String> create(JsonObject body, String... extraHeaders) {
        String[] headers = new String[extraHeaders.length + 2];
        headers[0] = "Authorization";
        headers[1] = AUTH;
        System.arraycopy(extraHeaders, 0, headers, 2, extraHeaders.length);
        return post(fake.apiUrl() + "/models/black-forest-labs/flux-schnell/predictions", body, headers);
    }

    private static JsonObject awaitTerminal(String id) {
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(20))
                .until(() -> List.of("succeeded", "failed", "canceled", "aborted")
                        .contains(fake.prediction(id).orElseThrow().getString("status")));
        return json(get(fake.apiUrl() + "/predictions/" + id, "Authorization", AUTH));
    }

    private static String outputOf(String id) {
        JsonObject done = awaitTerminal(id);
        assertEquals("succeeded", done.getString("status"));
        return done.getJsonArray("output").getString(0);
    }
}
