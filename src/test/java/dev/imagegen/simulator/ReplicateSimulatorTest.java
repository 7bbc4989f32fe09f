package dev.imagegen.simulator;

import static dev.imagegen.testsupport.TestHttp.get;
import static dev.imagegen.testsupport.TestHttp.getBytes;
import static dev.imagegen.testsupport.TestHttp.json;
import static dev.imagegen.testsupport.TestHttp.post;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpServer;

import dev.imagegen.webhook.StandardWebhooks;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;

class ReplicateSimulatorTest {

    private static final String SDXL_VERSION = "7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc";
    private static final String AUTH = "Bearer r8_test";
    private static final String RFC3339 = "\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3,9}Z";

    private static Vertx vertx;

    private ReplicateSimulator sim;
    private String base;

    @BeforeAll
    static void startVertx() {
        vertx = Vertx.vertx();
    }

    @AfterAll
    static void stopVertx() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    @BeforeEach
    void start() throws Exception {
        sim = new ReplicateSimulator(vertx, null, Duration.ofMillis(200))
                .webhookRetryBackoff(List.of(Duration.ofMillis(20), Duration.ofMillis(40), Duration.ofMillis(80)));
        var server = sim.listen("127.0.0.1", 0).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        base = "http://127.0.0.1:" + server.actualPort();
    }

    @AfterEach
    void stop() throws Exception {
        sim.closeAsync().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    // ------------------------------------------------------------ happy path

    @Test
    void createPollSucceedAndDownload() throws IOException {
        HttpResponse<String> created = post(base + "/v1/models/black-forest-labs/flux-schnell/predictions",
                new JsonObject().put("input", new JsonObject().put("prompt", "a corgi").put("num_outputs", 2)
                        .put("aspect_ratio", "16:9").put("megapixels", "0.25").put("output_format", "webp")),
                "Authorization", AUTH);

        assertEquals(201, created.statusCode());
        assertEquals("599", created.headers().firstValue("ratelimit-remaining").orElseThrow());
        assertEquals("1", created.headers().firstValue("ratelimit-reset").orElseThrow());
        assertTrue(created.headers().firstValue("Preference-Applied").isEmpty());
        JsonObject p = json(created);
        String id = p.getString("id");
        assertTrue(id.matches("[0-9a-z]{26}"), id);
        assertEquals("starting", p.getString("status"));
        assertEquals("black-forest-labs/flux-schnell", p.getString("model"));
        assertTrue(p.getString("version").startsWith("dp-"));
        assertEquals("a corgi", p.getJsonObject("input").getString("prompt"));
        assertEquals("", p.getString("logs"));
        assertTrue(p.containsKey("output") && p.getValue("output") == null);
        assertTrue(p.containsKey("error") && p.getValue("error") == null);
        assertTrue(p.getString("created_at").matches(RFC3339), p.getString("created_at"));
        assertFalse(p.containsKey("started_at"), "started_at must be absent, not null");
        assertFalse(p.containsKey("completed_at"));
        assertFalse(p.containsKey("metrics"));
        assertEquals(base + "/v1/predictions/" + id, p.getJsonObject("urls").getString("get"));
        assertEquals(base + "/v1/predictions/" + id + "/cancel", p.getJsonObject("urls").getString("cancel"));
        assertEquals("https://replicate.com/p/" + id, p.getJsonObject("urls").getString("web"));

        JsonObject done = awaitStatus(id, "succeeded");
        assertTrue(done.getString("started_at").matches(RFC3339));
        assertTrue(done.getString("completed_at").matches(RFC3339));
        assertTrue(done.getJsonObject("metrics").getDouble("predict_time") >= 0);
        assertEquals("api", done.getString("source"));
        assertTrue(done.getString("logs").contains("Using seed:"));
        JsonArray output = done.getJsonArray("output");
        assertEquals(List.of(base + "/files/" + id + "/out-0.png", base + "/files/" + id + "/out-1.png"), output.getList());
        assertEquals(1, sim.createCount());
        assertTrue(sim.getCount(id) >= 1);

        HttpResponse<byte[]> file = getBytes(output.getString(0));
        assertEquals(200, file.statusCode());
        assertEquals("image/png", file.headers().firstValue("Content-Type").orElseThrow());
        assertEquals(String.valueOf(file.body().length), file.headers().firstValue("Content-Length").orElseThrow());
        assertEquals("public,max-age=3600", file.headers().firstValue("Cache-Control").orElseThrow());
        assertEquals("bytes", file.headers().firstValue("accept-ranges").orElseThrow());
        assertTrue(file.headers().firstValue("ETag").isPresent());
        BufferedImage image = PngImagesTest.decode(file.body());
        assertEquals(672, image.getWidth());
        assertEquals(384, image.getHeight());

        byte[] second = getBytes(output.getString(1)).body();
        assertFalse(Arrays.equals(file.body(), second), "each output has its own seed");
        assertArrayEquals(file.body(), getBytes(output.getString(0)).body(), "files are stable");
    }

    @Test
    void versionRouteAcceptsTheDocumentedVersionForms() {
        JsonObject input = new JsonObject().put("prompt", "p").put("width", 64).put("height", 32);
        JsonObject byHex = json(createWithVersion(SDXL_VERSION, input));
        assertEquals("stability-ai/sdxl", byHex.getString("model"));
        assertEquals(SDXL_VERSION, byHex.getString("version"));

        JsonObject byName = json(createWithVersion("stability-ai/sdxl:" + SDXL_VERSION, input));
        assertEquals("stability-ai/sdxl", byName.getString("model"));

        JsonObject official = json(createWithVersion("black-forest-labs/flux-dev", new JsonObject().put("prompt", "p")));
        assertEquals("black-forest-labs/flux-dev", official.getString("model"));

        String anyHex = "a".repeat(64);
        assertEquals(201, createWithVersion(anyHex, input).statusCode());

        JsonObject done = awaitStatus(byHex.getString("id"), "succeeded");
        BufferedImage image = decodeUrl(done.getJsonArray("output").getString(0));
        assertEquals(64, image.getWidth());
        assertEquals(32, image.getHeight());
    }

    @Test
    void createdAtPrecisionVaries() {
        java.util.Set<Integer> digits = new java.util.HashSet<>();
        for (int i = 0; i < 8; i++) {
            String createdAt = json(createSchnell("p" + i)).getString("created_at");
            digits.add(createdAt.length() - createdAt.indexOf('.') - 2);
        }
        assertTrue(digits.size() > 1, "fractional digits should vary: " + digits);
    }

    // ------------------------------------------------------------ errors

    @Test
    void missingTokenIs401AsDocumented() {
        HttpResponse<String> r = post(base + "/v1/models/black-forest-labs/flux-schnell/predictions",
                new JsonObject().put("input", new JsonObject().put("prompt", "x")));
        assertEquals(401, r.statusCode());
        assertEquals("application/problem+json", r.headers().firstValue("Content-Type").orElseThrow());
        assertEquals(new JsonObject().put("title", "Unauthenticated").put("detail", "You did not pass an authentication token")
                .put("status", 401), json(r));
        assertEquals(0, sim.createCount());
        assertEquals(1, sim.calls(Route.CREATE));
    }

    @Test
    void wrongSchemeOrRejectedTokenIs401Invalid() {
        HttpResponse<String> r = get(base + "/v1/predictions/abc", "Authorization", "Token r8_x");
        assertEquals(401, r.statusCode());
        assertEquals("You did not pass a valid authentication token", json(r).getString("detail"));

        sim.acceptTokens("good"::equals);
        assertEquals(401, get(base + "/v1/predictions", "Authorization", "Bearer bad").statusCode());
        assertEquals(200, get(base + "/v1/predictions", "Authorization", "Bearer good").statusCode());
    }

    @Test
    void unknownOfficialModelIs404() {
        HttpResponse<String> r = post(base + "/v1/models/stability-ai/sdxl/predictions",
                new JsonObject().put("input", new JsonObject().put("prompt", "x")), "Authorization", AUTH);
        assertEquals(404, r.statusCode());
        assertEquals(new JsonObject().put("detail", "The requested resource could not be found.").put("status", 404), json(r));

        HttpResponse<String> withVersion = post(base + "/v1/models/stability-ai/sdxl:" + SDXL_VERSION + "/predictions",
                new JsonObject().put("input", new JsonObject().put("prompt", "x")), "Authorization", AUTH);
        assertEquals(404, withVersion.statusCode());
    }

    @Test
    void badVersionIs422InvalidVersion() {
        JsonObject expected = new JsonObject().put("title", "Invalid version or not permitted")
                .put("detail", "The specified version does not exist (or perhaps you don't have permission to use it?)")
                .put("status", 422);
        JsonObject input = new JsonObject().put("prompt", "x");
        for (String version : List.of("not-a-version", "stability-ai/sdxl", "abc123", "owner/name:xyz")) {
            HttpResponse<String> r = createWithVersion(version, input);
            assertEquals(422, r.statusCode(), version);
            assertEquals(expected, json(r), version);
        }
        sim.acceptAnyVersion(false);
        assertEquals(422, createWithVersion("b".repeat(64), input).statusCode());
        assertEquals(201, createWithVersion(SDXL_VERSION, input).statusCode());
    }

    @Test
    void invalidInputIs422InputValidationFailed() {
        String url = base + "/v1/models/black-forest-labs/flux-schnell/predictions";
        HttpResponse<String> noInput = post(url, new JsonObject(), "Authorization", AUTH);
        assertEquals(422, noInput.statusCode());
        assertEquals("Input validation failed", json(noInput).getString("title"));

        HttpResponse<String> bad = post(url, new JsonObject().put("input", new JsonObject().put("num_outputs", 7)
                .put("aspect_ratio", "2:1").put("num_inference_steps", 10)), "Authorization", AUTH);
        assertEquals(422, bad.statusCode());
        JsonObject body = json(bad);
        assertEquals(422, body.getInteger("status"));
        List<String> fields = body.getJsonArray("invalid_fields").stream().map(f -> ((JsonObject) f).getString("field")).toList();
        assertEquals(List.of("input", "input.num_outputs", "input.aspect_ratio", "input.num_inference_steps"), fields);
        assertTrue(body.getString("detail").contains("- input: prompt is required\n"), body.getString("detail"));
        assertTrue(body.getString("detail").contains("Must be less than or equal to 4"));

        HttpResponse<String> wrongType = post(url, new JsonObject().put("input", new JsonObject().put("prompt", 5)),
                "Authorization", AUTH);
        assertEquals("Invalid type. Expected: string, given: integer",
                json(wrongType).getJsonArray("invalid_fields").getJsonObject(0).getString("description"));
        assertEquals(0, sim.createCount());
    }

    @Test
    void malformedJsonIs400() {
        HttpResponse<String> r = dev.imagegen.testsupport.TestHttp.post(base + "/v1/predictions", null, "Authorization", AUTH);
        assertEquals(400, r.statusCode());
    }

    @Test
    void unknownPredictionIs404() {
        assertEquals(404, get(base + "/v1/predictions/nope", "Authorization", AUTH).statusCode());
        assertEquals(404, post(base + "/v1/predictions/nope/cancel", new JsonObject(), "Authorization", AUTH).statusCode());
        assertEquals(404, getBytes(base + "/files/nope/out-0.png").statusCode());
        assertEquals(404, get(base + "/v2/whatever").statusCode());
    }

    // ------------------------------------------------------------ sync mode

    @Test
    void preferWaitHoldsUntilDone() {
        HttpResponse<String> r = post(base + "/v1/models/black-forest-labs/flux-schnell/predictions",
                new JsonObject().put("input", new JsonObject().put("prompt", "sync")), "Authorization", AUTH, "Prefer", "wait=30");
        assertEquals(201, r.statusCode());
        assertEquals("wait=30", r.headers().firstValue("Preference-Applied").orElseThrow());
        JsonObject p = json(r);
        assertEquals("succeeded", p.getString("status"));
        assertEquals(1, p.getJsonArray("output").size());
    }

    @Test
    void preferWaitAnswersTheCurrentStateWhenTimeRunsOut() {
        sim.interceptor(new SimulatorInterceptor() {
            @Override
            public PredictionPlan plan(String id, String model, JsonObject input, PredictionPlan defaultPlan) {
                return defaultPlan.withOutcome(PredictionPlan.Outcome.STALL_PROCESSING, null);
            }
        });
        HttpResponse<String> r = post(base + "/v1/models/black-forest-labs/flux-schnell/predictions",
                new JsonObject().put("input", new JsonObject().put("prompt", "slow")), "Authorization", AUTH, "Prefer", "wait=1");
        assertEquals(201, r.statusCode());
        assertEquals("wait=1", r.headers().firstValue("Preference-Applied").orElseThrow());
        assertTrue(List.of("starting", "processing").contains(json(r).getString("status")));
    }

    @Test
    void invalidPreferIs400() {
        HttpResponse<String> r = post(base + "/v1/models/black-forest-labs/flux-schnell/predictions",
                new JsonObject().put("input", new JsonObject().put("prompt", "x")), "Authorization", AUTH, "Prefer", "wait=61");
        assertEquals(400, r.statusCode());
    }

    // ------------------------------------------------------------ cancel, list, expiry

    @Test
    void cancelStopsARunningPredictionAndLeavesTerminalOnesAlone() {
        stallAll();
        String id = json(createSchnell("to cancel")).getString("id");
        assertEquals(1, sim.running());

        HttpResponse<String> canceled = post(base + "/v1/predictions/" + id + "/cancel", null, "Authorization", AUTH);
        assertEquals(200, canceled.statusCode());
        JsonObject c = json(canceled);
        assertEquals("canceled", c.getString("status"));
        assertNull(c.getValue("output"));
        assertNotNull(c.getString("completed_at"));
        assertNotNull(c.getJsonObject("metrics"));
        assertEquals(0, sim.running());

        JsonObject again = json(post(base + "/v1/predictions/" + id + "/cancel", null, "Authorization", AUTH));
        assertEquals("canceled", again.getString("status"));
        assertEquals(c.getString("completed_at"), again.getString("completed_at"));
        assertEquals(2, sim.cancelCount(id));

        sim.interceptor(null);
        String done = json(createSchnell("finished")).getString("id");
        awaitStatus(done, "succeeded");
        JsonObject afterCancel = json(post(base + "/v1/predictions/" + done + "/cancel", null, "Authorization", AUTH));
        assertEquals("succeeded", afterCancel.getString("status"));
        assertEquals(1, afterCancel.getJsonArray("output").size());
    }

    @Test
    void cancelWhileStartingSetsStartedAtJustBeforeCompletedAt() {
        sim.interceptor(new SimulatorInterceptor() {
            @Override
            public PredictionPlan plan(String id, String model, JsonObject input, PredictionPlan defaultPlan) {
                return defaultPlan.withOutcome(PredictionPlan.Outcome.STALL_STARTING, null);
            }
        });
        String id = json(createSchnell("queued")).getString("id");
        JsonObject c = json(post(base + "/v1/predictions/" + id + "/cancel", null, "Authorization", AUTH));
        assertEquals("canceled", c.getString("status"));
        assertTrue(c.containsKey("started_at"));
        assertTrue(c.getJsonObject("metrics").getDouble("predict_time") < 0.001);
    }

    @Test
    void listsNewestFirstWithCreatedAfter() {
        String first = json(createSchnell("one")).getString("id");
        String firstCreatedAt = sim.prediction(first).orElseThrow().getString("created_at");
        await().atMost(Duration.ofSeconds(5)).until(() -> Instant.now().isAfter(Instant.parse(firstCreatedAt).plusMillis(2)));
        String second = json(createSchnell("two")).getString("id");

        JsonObject page = json(get(base + "/v1/predictions", "Authorization", AUTH));
        assertNull(page.getValue("next"));
        assertNull(page.getValue("previous"));
        List<String> ids = page.getJsonArray("results").stream().map(o -> ((JsonObject) o).getString("id")).toList();
        assertEquals(List.of(second, first), ids);

        JsonObject after = json(get(base + "/v1/predictions?created_after=" + firstCreatedAt, "Authorization", AUTH));
        assertEquals(List.of(second),
                after.getJsonArray("results").stream().map(o -> ((JsonObject) o).getString("id")).toList());
    }

    @Test
    void expiredOutputsAreRemovedAndFilesGone() {
        String id = json(createSchnell("ephemeral")).getString("id");
        JsonObject done = awaitStatus(id, "succeeded");
        String url = done.getJsonArray("output").getString(0);
        assertEquals(200, getBytes(url).statusCode());

        assertTrue(sim.expireOutputs(id));
        JsonObject expired = json(get(base + "/v1/predictions/" + id, "Authorization", AUTH));
        assertTrue(expired.getBoolean("data_removed"));
        assertTrue(expired.containsKey("output"));
        assertNull(expired.getValue("output"));
        assertEquals(404, getBytes(url).statusCode());
        assertFalse(sim.expireOutputs(id));
    }

    @Test
    void outputsExpireAfterTheRetention() {
        sim.outputRetention(Duration.ofMillis(100));
        String id = json(createSchnell("short-lived")).getString("id");
        await().atMost(Duration.ofSeconds(10))
                .until(() -> sim.prediction(id).map(p -> p.getBoolean("data_removed")).orElse(false));
    }

    @Test
    void keepsOnlyTheNewestPredictions() {
        sim.maxPredictions(2);
        String oldest = json(createSchnell("a")).getString("id");
        createSchnell("b");
        createSchnell("c");
        assertEquals(404, get(base + "/v1/predictions/" + oldest, "Authorization", AUTH).statusCode());
        assertEquals(2, sim.predictionIds().size());
    }

    @Test
    void countsRunningPredictionsAndTheMaximum() {
        stallAll();
        List<String> ids = List.of(json(createSchnell("1")).getString("id"), json(createSchnell("2")).getString("id"),
                json(createSchnell("3")).getString("id"));
        assertEquals(3, sim.running());
        ids.forEach(id -> post(base + "/v1/predictions/" + id + "/cancel", null, "Authorization", AUTH));
        assertEquals(0, sim.running());
        assertEquals(3, sim.maxRunning());
        sim.resetCounters();
        assertEquals(0, sim.maxRunning());
        assertEquals(0, sim.calls(Route.CANCEL));
    }

    // ------------------------------------------------------------ files

    @Test
    void servesRangesAndHead() throws Exception {
        String id = json(createSchnell("ranges")).getString("id");
        String url = awaitStatus(id, "succeeded").getJsonArray("output").getString(0);
        byte[] whole = getBytes(url).body();

        HttpResponse<byte[]> part = getBytes(url, "Range", "bytes=0-7");
        assertEquals(206, part.statusCode());
        assertEquals("bytes 0-7/" + whole.length, part.headers().firstValue("Content-Range").orElseThrow());
        assertArrayEquals(Arrays.copyOf(whole, 8), part.body());

        HttpResponse<byte[]> suffix = getBytes(url, "Range", "bytes=-12");
        assertArrayEquals(Arrays.copyOfRange(whole, whole.length - 12, whole.length), suffix.body());

        assertEquals(416, getBytes(url, "Range", "bytes=" + whole.length + "-").statusCode());

        var head = dev.imagegen.testsupport.TestHttp.sendRaw(
                dev.imagegen.testsupport.TestHttp.request(url).method("HEAD", java.net.http.HttpRequest.BodyPublishers.noBody())
                        .build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, head.statusCode());
        assertEquals(String.valueOf(whole.length), head.headers().firstValue("Content-Length").orElseThrow());
        assertEquals(0, head.body().length);

        assertEquals(404, getBytes(url.replace(".png", ".webp")).statusCode());
        assertEquals(404, getBytes(url.replace("out-0", "out-3")).statusCode());
    }

    @Test
    void filesAreNotServedBeforeSuccess() {
        stallAll();
        String id = json(createSchnell("pending")).getString("id");
        assertEquals(404, getBytes(base + "/files/" + id + "/out-0.png").statusCode());
    }

    @Test
    void parsesRanges() {
        assertArrayEquals(new long[] { 0, 9 }, OutputFiles.parseRange("bytes=0-9", 100));
        assertArrayEquals(new long[] { 90, 99 }, OutputFiles.parseRange("bytes=90-", 100));
        assertArrayEquals(new long[] { 95, 99 }, OutputFiles.parseRange("bytes=-5", 100));
        assertArrayEquals(new long[] { 50, 99 }, OutputFiles.parseRange("bytes=50-500", 100));
        assertEquals(0, OutputFiles.parseRange("bytes=100-", 100).length);
        assertNull(OutputFiles.parseRange("bytes=0-1,5-6", 100));
        assertNull(OutputFiles.parseRange("items=0-1", 100));
        assertNull(OutputFiles.parseRange(null, 100));
    }

    @Test
    void parsesCancelAfter() {
        assertEquals(Duration.ofSeconds(90), ReplicateSimulator.parseCancelAfter("90"));
        assertEquals(Duration.ofSeconds(90), ReplicateSimulator.parseCancelAfter("90s"));
        assertEquals(Duration.ofSeconds(5445), ReplicateSimulator.parseCancelAfter("1h30m45s"));
        assertEquals(Duration.ofMinutes(5), ReplicateSimulator.parseCancelAfter("5m"));
        assertNull(ReplicateSimulator.parseCancelAfter("soon"));
        assertNull(ReplicateSimulator.parseCancelAfter(""));
    }

    @Test
    void cancelAfterSetsADeadlineAndRejectsShortOnes() {
        HttpResponse<String> ok = post(base + "/v1/models/black-forest-labs/flux-schnell/predictions",
                new JsonObject().put("input", new JsonObject().put("prompt", "x")), "Authorization", AUTH, "Cancel-After", "1h");
        assertEquals(201, ok.statusCode());
        assertTrue(json(ok).getString("deadline").matches(RFC3339));
        HttpResponse<String> tooShort = post(base + "/v1/models/black-forest-labs/flux-schnell/predictions",
                new JsonObject().put("input", new JsonObject().put("prompt", "x")), "Authorization", AUTH, "Cancel-After", "2s");
        assertEquals(400, tooShort.statusCode());
    }

    // ------------------------------------------------------------ webhooks

    @Test
    void deliversSignedWebhooksForTheRequestedEvents() throws Exception {
        ConcurrentLinkedQueue<Map<String, Object>> received = new ConcurrentLinkedQueue<>();
        HttpServer sink = sink(received, new AtomicInteger());
        try {
            String hook = "http://127.0.0.1:" + sink.getAddress().getPort() + "/hooks/replicate?job=42";
            JsonObject body = new JsonObject().put("input", new JsonObject().put("prompt", "hooked"))
                    .put("webhook", hook).put("webhook_events_filter", new JsonArray().add("start").add("completed"));
            JsonObject created = json(post(base + "/v1/models/black-forest-labs/flux-schnell/predictions", body,
                    "Authorization", AUTH));
            assertEquals(hook, created.getString("webhook"));

            await().atMost(Duration.ofSeconds(10)).until(() -> received.size() >= 2);
            List<String> statuses = new java.util.ArrayList<>();
            for (Map<String, Object> delivery : received) {
                byte[] raw = (byte[]) delivery.get("body");
                assertEquals("/hooks/replicate?job=42", delivery.get("uri"));
                String msgId = (String) delivery.get("webhook-id");
                assertTrue(msgId.startsWith("msg_"), msgId);
                assertEquals(StandardWebhooks.Result.OK, StandardWebhooks.verify(sim.webhookSecret(), msgId,
                        (String) delivery.get("webhook-timestamp"), (String) delivery.get("webhook-signature"), raw, Instant.now()));
                JsonObject prediction = new JsonObject(new String(raw, StandardCharsets.UTF_8));
                assertEquals(created.getString("id"), prediction.getString("id"));
                statuses.add(prediction.getString("status"));
            }
            assertTrue(statuses.contains("starting") && statuses.contains("succeeded"), statuses.toString());
            assertEquals(2, received.size(), "only start and completed were asked for");
        } finally {
            sink.stop(0);
        }
    }

    @Test
    void retriesTheTerminalWebhookWithTheSameMessageId() throws Exception {
        ConcurrentLinkedQueue<Map<String, Object>> received = new ConcurrentLinkedQueue<>();
        AtomicInteger failuresLeft = new AtomicInteger(2);
        HttpServer sink = sink(received, failuresLeft);
        List<WebhookAttempt> attempts = new java.util.concurrent.CopyOnWriteArrayList<>();
        sim.interceptor(new SimulatorInterceptor() {
            @Override
            public void webhookAttempted(WebhookAttempt attempt) {
                attempts.add(attempt);
            }
        });
        try {
            String hook = "http://127.0.0.1:" + sink.getAddress().getPort() + "/hook";
            post(base + "/v1/models/black-forest-labs/flux-schnell/predictions",
                    new JsonObject().put("input", new JsonObject().put("prompt", "retry")).put("webhook", hook)
                            .put("webhook_events_filter", new JsonArray().add("completed")),
                    "Authorization", AUTH);
            await().atMost(Duration.ofSeconds(10)).until(() -> attempts.stream().anyMatch(WebhookAttempt::delivered));
            assertEquals(3, attempts.size());
            assertEquals(List.of(500, 500, 200), attempts.stream().map(WebhookAttempt::statusCode).toList());
            assertEquals(1, attempts.stream().map(WebhookAttempt::messageId).distinct().count());
            assertEquals(List.of(1, 2, 3), attempts.stream().map(WebhookAttempt::attempt).toList());
        } finally {
            sink.stop(0);
        }
    }

    @Test
    void servesTheWebhookSecret() {
        HttpResponse<String> r = get(base + "/v1/webhooks/default/secret", "Authorization", AUTH);
        assertEquals(200, r.statusCode());
        assertEquals(sim.webhookSecret(), json(r).getString("key"));
        assertTrue(sim.webhookSecret().startsWith("whsec_"));
    }

    // ------------------------------------------------------------ mounting

    @Test
    void mountsUnderAPrefixNextToOtherRoutes() throws Exception {
        Router router = Router.router(vertx);
        router.get("/hello").handler(ctx -> ctx.response().end("app"));
        ReplicateSimulator mounted = new ReplicateSimulator(vertx, "http://localhost:1", Duration.ofMillis(50));
        mounted.mount(router, "/replicate-sim/");
        var server = vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1")
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        try {
            String root = "http://127.0.0.1:" + server.actualPort();
            mounted.publicBaseUrl(root);
            assertEquals("app", get(root + "/hello").body());
            JsonObject p = json(post(root + "/replicate-sim/v1/models/black-forest-labs/flux-schnell/predictions",
                    new JsonObject().put("input", new JsonObject().put("prompt", "mounted")), "Authorization", AUTH,
                    "Prefer", "wait"));
            assertEquals("succeeded", p.getString("status"));
            assertEquals(root + "/replicate-sim/v1/predictions/" + p.getString("id"), p.getJsonObject("urls").getString("get"));
            String file = p.getJsonArray("output").getString(0);
            assertTrue(file.startsWith(root + "/replicate-sim/files/"), file);
            assertEquals(200, getBytes(file).statusCode());
        } finally {
            mounted.close();
            server.close();
        }
    }

    // ------------------------------------------------------------ helpers

    private HttpResponse<String> createSchnell(String prompt) {
        HttpResponse<String> r = post(base + "/v1/models/black-forest-labs/flux-schnell/predictions",
                new JsonObject().put("input", new JsonObject().put("prompt", prompt).put("megapixels", "0.25")),
                "Authorization", AUTH);
        assertEquals(201, r.statusCode(), r.body());
        return r;
    }

    private HttpResponse<String> createWithVersion(String version, JsonObject input) {
        return post(base + "/v1/predictions", new JsonObject().put("version", version).put("input", input), "Authorization", AUTH);
    }

    private JsonObject awaitStatus(String id, String status) {
        JsonObject[] last = new JsonObject[1];
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(25)).until(() -> {
            last[0] = json(get(base + "/v1/predictions/" + id, "Authorization", AUTH));
            return status.equals(last[0].getString("status"));
        });
        return last[0];
    }

    private BufferedImage decodeUrl(String url) {
        try {
            return PngImagesTest.decode(getBytes(url).body());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private void stallAll() {
        sim.interceptor(new SimulatorInterceptor() {
            @Override
            public PredictionPlan plan(String id, String model, JsonObject input, PredictionPlan defaultPlan) {
                return defaultPlan.withOutcome(PredictionPlan.Outcome.STALL_PROCESSING, null);
            }
        });
    }

    /** A JDK HTTP server recording deliveries; answers 500 while {@code failuresLeft} is positive. */
    private static HttpServer sink(ConcurrentLinkedQueue<Map<String, Object>> received, AtomicInteger failuresLeft)
            throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            int status = failuresLeft.getAndDecrement() > 0 ? 500 : 200;
            if (status == 200) {
                received.add(Map.of(
                        "uri", exchange.getRequestURI().toString(),
                        "webhook-id", exchange.getRequestHeaders().getFirst("webhook-id"),
                        "webhook-timestamp", exchange.getRequestHeaders().getFirst("webhook-timestamp"),
                        "webhook-signature", exchange.getRequestHeaders().getFirst("webhook-signature"),
                        "body", body));
            }
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
        });
        server.start();
        return server;
    }
}
