package dev.imagegen.testsupport;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import dev.imagegen.simulator.Fault;
import dev.imagegen.simulator.FileBody;
import dev.imagegen.simulator.PredictionPlan;
import dev.imagegen.simulator.PredictionPlan.Outcome;
import dev.imagegen.simulator.ReplicateSimulator;
import dev.imagegen.simulator.Route;
import dev.imagegen.simulator.SimulatorInterceptor;
import dev.imagegen.simulator.WebhookAttempt;
import dev.imagegen.webhook.StandardWebhooks;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

/**
 * A Replicate stand-in for tests: the {@link ReplicateSimulator} on its own Vert.x server at
 * {@code 127.0.0.1:<random port>}, plus fault scripting, request recording and a webhook sink.
 *
 * <pre>{@code
 * try (FakeReplicate fake = FakeReplicate.start()) {
 *     fake.failNext(Route.CREATE, 503, 2).hangNext(Route.GET, 1).truncateDownloads(true);
 *     // point the client at fake.baseUrl() with token "test-token"...
 *     assertEquals(1, fake.createCount());
 * }
 * }</pre>
 *
 * All methods are thread-safe. {@link #reset()} restores a clean fake (call it between tests).
 */
public final class FakeReplicate implements AutoCloseable {

    /** The token {@link #requireToken} is set to by {@link FakeReplicateResource}. */
    public static final String TEST_TOKEN = "test-token";

    /** Path of the built-in webhook receiver. */
    public static final String WEBHOOK_SINK_PATH = "/_test/webhooks";

    /** Path of the slow-drip file server ({@link #dripDownloads}). */
    public static final String DRIP_PATH = "/_test/drip";

    /** Default prediction duration of a fake: short, but long enough to observe {@code processing}. */
    public static final Duration DEFAULT_DELAY = Duration.ofMillis(150);

    private static final int MAX_RECORDED = 10_000;

    /** How {@link #throttleNext} tells the client when to come back. */
    public enum RetryAfterVia {
        /** A {@code Retry-After} header only. */
        HEADER,
        /** The body's {@code retry_after} field only (what has been seen from Replicate). */
        BODY,
        /** Both. */
        BOTH,
        /** Neither: the client must fall back to its own backoff. */
        NONE
    }

    /** One request the fake received on a simulated route (faulted requests included). */
    public record RecordedRequest(Route route, String method, String path, String query, Map<String, List<String>> headers,
            String body, Instant at) {

        /** The first value of a header (case-insensitive), or null. */
        public String header(String name) {
            List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
            return values == null || values.isEmpty() ? null : values.get(0);
        }

        /** The body as JSON, or null when it is not a JSON object. */
        public JsonObject json() {
            try {
                return body == null || body.isBlank() ? null : new JsonObject(body);
            } catch (RuntimeException e) {
                return null;
            }
        }
    }

    /** One webhook delivered to the built-in sink. */
    public record ReceivedWebhook(String path, String query, Map<String, String> headers, byte[] body, int answeredStatus,
            Instant at) {

        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        public String id() {
            return header(StandardWebhooks.HEADER_ID);
        }

        public JsonObject json() {
            return new JsonObject(new String(body, StandardCharsets.UTF_8));
        }

        /** Verifies this delivery's signature against {@code secret} as of now. */
        public StandardWebhooks.Result verify(String secret) {
            return StandardWebhooks.verify(secret, header(StandardWebhooks.HEADER_ID), header(StandardWebhooks.HEADER_TIMESTAMP),
                    header(StandardWebhooks.HEADER_SIGNATURE), body, Instant.now());
        }
    }

    private record PromptRule(String substring, Outcome outcome, String error) {
    }

    private final Vertx vertx;
    private final ReplicateSimulator simulator;
    private final HttpServer server;
    private final String baseUrl;
    private final Duration defaultDelay;
    private final Script script = new Script();

    private final Map<Route, ConcurrentLinkedDeque<Fault>> queued = new EnumMap<>(Route.class);
    private final Map<Route, Duration> latency = Collections.synchronizedMap(new EnumMap<>(Route.class));
    private final CopyOnWriteArrayList<PromptRule> promptRules = new CopyOnWriteArrayList<>();
    private final ConcurrentLinkedDeque<RecordedRequest> requests = new ConcurrentLinkedDeque<>();
    private final ConcurrentLinkedDeque<WebhookAttempt> webhookAttempts = new ConcurrentLinkedDeque<>();
    private final ConcurrentLinkedDeque<ReceivedWebhook> receivedWebhooks = new ConcurrentLinkedDeque<>();
    private final ConcurrentLinkedDeque<Integer> sinkStatuses = new ConcurrentLinkedDeque<>();
    private volatile boolean truncateDownloads;
    private volatile long oversizeBytes;
    private volatile boolean outputsAsDataUri;
    private volatile String outputsHost;
    private volatile int webhookCopies = 1;
    private volatile String requiredToken;
    private volatile boolean outOfCredit;
    private final AtomicInteger lostCreateAnswers = new AtomicInteger();
    private volatile int extraOutputs;
    private final Map<Integer, ConcurrentLinkedDeque<Fault>> outputFaults = new ConcurrentHashMap<>();
    private volatile Drip drip;
    private volatile ListHold listHold;
    private final AtomicInteger dripRequests = new AtomicInteger();
    private volatile Storm storm;
    private final Map<String, AtomicInteger> stormCounts = new ConcurrentHashMap<>();
    private final java.util.Set<String> stormTruncations = ConcurrentHashMap.newKeySet();

    /**
     * {@link #storm}: the share of calls (and of webhook messages) that get a fault, the random source,
     * and the longest delay of a late webhook.
     */
    private record Storm(double rate, java.util.Random random, Duration maxWebhookDelay) {

        synchronized double roll() {
            return random.nextDouble();
        }

        synchronized int pick(int n) {
            return random.nextInt(n);
        }
    }

    /** {@link #holdListsUntilPredictions}: how many predictions must exist, and the longest hold. */
    private record ListHold(int predictions, Duration max) {
    }

    /** How {@link #dripDownloads} serves files: {@code chunks} pieces, one every {@code every}. */
    private record Drip(int chunks, Duration every) {
    }

    private FakeReplicate(Duration delay) {
        for (Route r : Route.values()) {
            queued.put(r, new ConcurrentLinkedDeque<>());
        }
        this.defaultDelay = delay;
        this.vertx = Vertx.vertx();
        try {
            this.simulator = new ReplicateSimulator(vertx, null, delay).interceptor(script);
            Router router = Router.router(vertx);
            router.get("/v1/predictions").handler(this::holdList); // before the simulator's own list route
            simulator.mount(router, "");
            router.post(WEBHOOK_SINK_PATH + "*").handler(BodyHandler.create(false)).handler(this::sink);
            router.get(DRIP_PATH + "/:id/:index").handler(this::drip);
            router.route().last().handler(ctx -> ctx.response().setStatusCode(404)
                    .putHeader("Content-Type", "application/problem+json")
                    .end(new JsonObject().put("detail", ReplicateSimulator.NOT_FOUND_DETAIL).put("status", 404).encode()));
            this.server = vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1")
                    .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            vertx.close();
            throw new IllegalStateException("FakeReplicate could not start: " + e.getMessage(), e);
        }
        this.baseUrl = "http://127.0.0.1:" + server.actualPort();
        simulator.publicBaseUrl(baseUrl);
        configureDefaults();
    }

    /** Starts a fake whose predictions take {@link #DEFAULT_DELAY}. */
    public static FakeReplicate start() {
        return new FakeReplicate(DEFAULT_DELAY);
    }

    /** Starts a fake whose predictions take {@code delay}. */
    public static FakeReplicate start(Duration delay) {
        return new FakeReplicate(delay);
    }

    private void configureDefaults() {
        String token = requiredToken;
        simulator.delay(defaultDelay)
                .acceptTokens(token == null ? t -> !t.isBlank() : token::equals)
                .webhookRetryBackoff(List.of(Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(200)))
                .webhookTimeout(Duration.ofSeconds(5))
                .officialModels(ReplicateSimulator.DEFAULT_OFFICIAL_MODELS)
                .acceptAnyVersion(true)
                .outputRetention(Duration.ofHours(1));
    }

    // ---------------------------------------------------------------- addresses

    /** {@code http://127.0.0.1:PORT}: the Replicate base URL, without {@code /v1}. */
    public String baseUrl() {
        return baseUrl;
    }

    /** {@code http://127.0.0.1:PORT/v1}. */
    public String apiUrl() {
        return baseUrl + "/v1";
    }

    /** Where output files are served: {@code http://127.0.0.1:PORT/files}. */
    public String filesBaseUrl() {
        return baseUrl + "/files";
    }

    /** The built-in webhook receiver ({@link #receivedWebhooks()}); add a query string as you like. */
    public String webhookSinkUrl() {
        return baseUrl + WEBHOOK_SINK_PATH;
    }

    /** The {@code whsec_…} secret webhooks are signed with. */
    public String webhookSecret() {
        return simulator.webhookSecret();
    }

    /** The simulator underneath, for settings this class does not wrap. */
    public ReplicateSimulator simulator() {
        return simulator;
    }

    // ---------------------------------------------------------------- lifecycle

    /**
     * Forgets predictions, faults, recordings and settings. Kept: the webhook secret and the token set by
     * {@link #requireToken}.
     */
    public FakeReplicate reset() {
        queued.values().forEach(ConcurrentLinkedDeque::clear);
        latency.clear();
        promptRules.clear();
        requests.clear();
        webhookAttempts.clear();
        receivedWebhooks.clear();
        sinkStatuses.clear();
        truncateDownloads = false;
        oversizeBytes = 0;
        outputsAsDataUri = false;
        outputsHost = null;
        webhookCopies = 1;
        outOfCredit = false;
        lostCreateAnswers.set(0);
        extraOutputs = 0;
        outputFaults.clear();
        drip = null;
        listHold = null;
        dripRequests.set(0);
        storm = null;
        stormCounts.clear();
        stormTruncations.clear();
        simulator.reset();
        configureDefaults();
        return this;
    }

    @Override
    public void close() {
        try {
            simulator.closeAsync().transform(v -> server.close()).transform(v -> vertx.close())
                    .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            vertx.close();
        }
    }

    // ---------------------------------------------------------------- settings

    /** How long new predictions take from creation to completion. */
    public FakeReplicate predictionDelay(Duration delay) {
        simulator.delay(delay);
        return this;
    }

    /**
     * Only this bearer token is accepted (others get 401 "You did not pass a valid authentication token");
     * null accepts any. Survives {@link #reset()}.
     */
    public FakeReplicate requireToken(String token) {
        this.requiredToken = token;
        simulator.acceptTokens(token == null ? t -> !t.isBlank() : token::equals);
        return this;
    }

    /**
     * While on, every create answers Replicate's 402 "Insufficient credit" (as an account without prepaid
     * credit gets), until turned off or {@link #reset()}.
     */
    public FakeReplicate outOfCredit(boolean on) {
        this.outOfCredit = on;
        return this;
    }

    /** Replaces the official models (default flux-schnell and flux-dev). */
    public FakeReplicate officialModels(String... models) {
        simulator.officialModels(List.of(models));
        return this;
    }

    /** Whether unknown 64-hex versions are accepted (default true); when false, only known ones are. */
    public FakeReplicate acceptAnyVersion(boolean accept) {
        simulator.acceptAnyVersion(accept);
        return this;
    }

    // ---------------------------------------------------------------- per-request faults

    /** The next {@code times} calls to {@code route} get {@code fault}. */
    public FakeReplicate nextFaults(Route route, Fault fault, int times) {
        for (int i = 0; i < times; i++) {
            queued.get(route).add(fault);
        }
        return this;
    }

    /** The next {@code times} calls get {@code status}: an HTML page for 5xx (as a CDN would send), else problem JSON. */
    public FakeReplicate failNext(Route route, int status, int times) {
        Fault fault = status >= 500
                ? Fault.respond(status, Map.of("Content-Type", "text/html"),
                        "<html><head><title>" + status + "</title></head><body><h1>" + status + " Server Error</h1></body></html>")
                : Fault.problem(status, new JsonObject().put("detail", "Simulated failure").put("status", status));
        return nextFaults(route, fault, times);
    }

    /** The next {@code times} calls get exactly this answer. */
    public FakeReplicate respondNext(Route route, int status, Map<String, String> headers, String body, int times) {
        return nextFaults(route, Fault.respond(status, headers, body), times);
    }

    /** The next {@code times} calls get Replicate's 429, telling the client to come back in {@code retryAfterSeconds}. */
    public FakeReplicate throttleNext(Route route, int retryAfterSeconds, RetryAfterVia via, int times) {
        JsonObject body = new JsonObject()
                .put("detail", "Request was throttled. Your rate limit resets in ~" + retryAfterSeconds + "s.")
                .put("status", 429);
        if (via == RetryAfterVia.BODY || via == RetryAfterVia.BOTH) {
            body.put("retry_after", retryAfterSeconds);
        }
        Map<String, String> headers = new java.util.LinkedHashMap<>();
        headers.put("Content-Type", "application/problem+json");
        headers.put("ratelimit-remaining", "0");
        headers.put("ratelimit-reset", Integer.toString(retryAfterSeconds));
        if (via == RetryAfterVia.HEADER || via == RetryAfterVia.BOTH) {
            headers.put("Retry-After", Integer.toString(retryAfterSeconds));
        }
        return nextFaults(route, Fault.respond(429, headers, body.encode()), times);
    }

    /** {@link #throttleNext(Route, int, RetryAfterVia, int)} once. */
    public FakeReplicate throttleNext(Route route, int retryAfterSeconds, RetryAfterVia via) {
        return throttleNext(route, retryAfterSeconds, via, 1);
    }

    /** The next {@code times} calls never get an answer (the client must time out). */
    public FakeReplicate hangNext(Route route, int times) {
        return nextFaults(route, Fault.hang(), times);
    }

    /** The next {@code times} calls have their connection closed without an answer. */
    public FakeReplicate resetNext(Route route, int times) {
        return nextFaults(route, Fault.reset(), times);
    }

    /** The next {@code times} calls are served normally, but only after {@code delay}. */
    public FakeReplicate delayNext(Route route, Duration delay, int times) {
        return nextFaults(route, Fault.proceed().after(delay), times);
    }

    /** Every call to {@code route} is served after {@code delay} (null or zero: no latency). */
    public FakeReplicate latency(Route route, Duration delay) {
        if (delay == null || delay.isZero()) {
            latency.remove(route);
        } else {
            latency.put(route, delay);
        }
        return this;
    }

    /**
     * The next {@code times} creates are carried out (the prediction exists, runs and is listed) but their
     * answer never arrives: the connection is closed just before the response would be written.
     */
    public FakeReplicate loseNextCreateAnswers(int times) {
        lostCreateAnswers.addAndGet(times);
        return this;
    }

    /**
     * List requests are held until at least {@code predictions} predictions exist (or {@code max} has
     * passed), then served: a lookup that must see a prediction created after it was sent.
     */
    public FakeReplicate holdListsUntilPredictions(int predictions, Duration max) {
        this.listHold = new ListHold(predictions, max);
        return this;
    }

    // ---------------------------------------------------------------- random faults

    /**
     * A fault storm: each call to the API or the file server (scripted faults go first) gets, with
     * probability {@code rate}, one of 429 (Retry-After 1 s), 500, 503, a hang, a reset; a create may also
     * be carried out with its answer lost, and a download may be truncated (half the declared bytes, then a
     * closed connection) or find the prediction's outputs expired. Each webhook message is, with probability
     * {@code rate}, dropped or sent twice, and (independently, with the same probability) held back up to
     * {@code maxWebhookDelay}, so that messages arrive late and out of order. {@code rate} 0 ends the storm.
     * {@link #stormCounts()} tells what was injected.
     */
    public FakeReplicate storm(double rate, long seed, Duration maxWebhookDelay) {
        this.storm = rate <= 0 ? null : new Storm(Math.min(1, rate), new java.util.Random(seed), maxWebhookDelay);
        return this;
    }

    /** Faults the storm injected so far, by kind (e.g. {@code CREATE 503}, {@code FILE truncated}, {@code webhook dropped}). */
    public Map<String, Integer> stormCounts() {
        Map<String, Integer> out = new java.util.TreeMap<>();
        stormCounts.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }

    private void countStorm(String kind) {
        stormCounts.computeIfAbsent(kind, k -> new AtomicInteger()).incrementAndGet();
    }

    // ---------------------------------------------------------------- prediction outcomes

    /** Predictions whose prompt contains {@code substring} ("" for all) end {@code failed} with {@code error}. */
    public FakeReplicate failPredictionsWithPrompt(String substring, String error) {
        promptRules.add(new PromptRule(substring, Outcome.FAIL, error));
        return this;
    }

    /** Predictions whose prompt contains {@code substring} end {@code canceled} (as if canceled on Replicate's side). */
    public FakeReplicate cancelPredictionsWithPrompt(String substring) {
        promptRules.add(new PromptRule(substring, Outcome.CANCEL, null));
        return this;
    }

    /** Predictions whose prompt contains {@code substring} end {@code aborted} without starting. */
    public FakeReplicate abortPredictionsWithPrompt(String substring) {
        promptRules.add(new PromptRule(substring, Outcome.ABORT, null));
        return this;
    }

    /** Predictions whose prompt contains {@code substring} stay {@code processing} until canceled. */
    public FakeReplicate stallPredictionsWithPrompt(String substring) {
        promptRules.add(new PromptRule(substring, Outcome.STALL_PROCESSING, null));
        return this;
    }

    /** Predictions whose prompt contains {@code substring} stay {@code starting} (a cold boot that never ends). */
    public FakeReplicate stallStartingWithPrompt(String substring) {
        promptRules.add(new PromptRule(substring, Outcome.STALL_STARTING, null));
        return this;
    }

    // ---------------------------------------------------------------- outputs and downloads

    /** Succeeded predictions list their outputs as {@code data:image/png;base64,…} URIs. */
    public FakeReplicate outputsAsDataUri(boolean on) {
        this.outputsAsDataUri = on;
        return this;
    }

    /** Succeeded predictions list output URLs on {@code host} (e.g. {@code evil.example}); null turns it off. */
    public FakeReplicate outputsOnHost(String host) {
        this.outputsHost = host;
        return this;
    }

    /** Downloads declare the full Content-Length, send half, then drop the connection. */
    public FakeReplicate truncateDownloads(boolean on) {
        this.truncateDownloads = on;
        return this;
    }

    /** Downloads send {@code totalBytes} (the PNG then zeros, streamed); 0 turns it off. */
    public FakeReplicate oversizeDownloads(long totalBytes) {
        this.oversizeBytes = totalBytes;
        return this;
    }

    /**
     * Succeeded predictions list {@code extra} more output URLs than {@code num_outputs} asked for (files
     * {@code out-N.png} past the last real one, which the fake does not serve: fetching one is a 404).
     */
    public FakeReplicate extraOutputs(int extra) {
        this.extraOutputs = extra;
        return this;
    }

    /** The next {@code times} downloads of output {@code index} (of any prediction) get {@code status}. */
    public FakeReplicate failDownloadsOfOutput(int index, int status, int times) {
        ConcurrentLinkedDeque<Fault> faults = outputFaults.computeIfAbsent(index, i -> new ConcurrentLinkedDeque<>());
        for (int i = 0; i < times; i++) {
            faults.add(Fault.respond(status, Map.of("Content-Type", "text/plain"), "simulated download failure"));
        }
        return this;
    }

    /**
     * Output URLs point at a slow-drip server ({@link #DRIP_PATH}) that declares the whole file, then
     * sends it in {@code chunks} pieces, one every {@code every}: never idle for long, but slow in all.
     * Null {@code every} turns it off.
     */
    public FakeReplicate dripDownloads(int chunks, Duration every) {
        this.drip = every == null ? null : new Drip(Math.max(1, chunks), every);
        return this;
    }

    /** Requests the slow-drip server received. */
    public int dripRequests() {
        return dripRequests.get();
    }

    /** GET requests for output file {@code index} of a prediction (answered or faulted). */
    public long fileDownloads(String predictionId, int index) {
        String suffix = "/files/" + predictionId + "/out-" + index + ".png";
        return requests(Route.FILE).stream().filter(r -> "GET".equals(r.method()) && r.path().endsWith(suffix)).count();
    }

    /** Removes a prediction's output (data_removed, output null, files 404), as retention would. */
    public boolean expireOutputs(String predictionId) {
        return simulator.expireOutputs(predictionId);
    }

    // ---------------------------------------------------------------- webhooks

    /** Sends each webhook message {@code copies} times (0 drops them, 2 duplicates them). */
    public FakeReplicate webhookCopies(int copies) {
        this.webhookCopies = copies;
        return this;
    }

    /** The built-in sink answers the next {@code times} deliveries with {@code status} (then 200 again). */
    public FakeReplicate webhookSinkFailNext(int status, int times) {
        for (int i = 0; i < times; i++) {
            sinkStatuses.add(status);
        }
        return this;
    }

    /** Every webhook attempt the simulator made, to any URL, in order of completion. */
    public List<WebhookAttempt> webhookAttempts() {
        return List.copyOf(webhookAttempts);
    }

    /** Webhook attempts for one prediction. */
    public List<WebhookAttempt> webhookAttempts(String predictionId) {
        return webhookAttempts.stream().filter(a -> a.predictionId().equals(predictionId)).toList();
    }

    /** Deliveries that reached the built-in sink, in order of arrival. */
    public List<ReceivedWebhook> receivedWebhooks() {
        return List.copyOf(receivedWebhooks);
    }

    /** Deliveries to the built-in sink whose body has {@code id == predictionId}. */
    public List<ReceivedWebhook> receivedWebhooks(String predictionId) {
        return receivedWebhooks.stream().filter(w -> predictionId.equals(w.json().getString("id"))).toList();
    }

    // ---------------------------------------------------------------- observations

    /** Requests to {@code route} (faulted and refused ones included). */
    public int calls(Route route) {
        return simulator.calls(route);
    }

    /** Predictions created (answered 201). */
    public int createCount() {
        return simulator.createCount();
    }

    /** Successful GETs of a prediction. */
    public int getCount(String predictionId) {
        return simulator.getCount(predictionId);
    }

    /** Cancel calls for a prediction. */
    public int cancelCount(String predictionId) {
        return simulator.cancelCount(predictionId);
    }

    /** Predictions starting or processing now. */
    public int running() {
        return simulator.running();
    }

    /** The most predictions starting or processing at once since the last reset. */
    public int maxConcurrentRunning() {
        return simulator.maxRunning();
    }

    /** Every recorded request, oldest first. */
    public List<RecordedRequest> requests() {
        return List.copyOf(requests);
    }

    /** Recorded requests to one route, oldest first. */
    public List<RecordedRequest> requests(Route route) {
        return requests.stream().filter(r -> r.route() == route).toList();
    }

    /** The latest request to {@code route}, if any. */
    public Optional<RecordedRequest> lastRequest(Route route) {
        List<RecordedRequest> all = requests(route);
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }

    /** The JSON body of the latest create request (whether or not it succeeded), or null. */
    public JsonObject lastCreateBody() {
        return lastRequest(Route.CREATE).map(RecordedRequest::json).orElse(null);
    }

    /** The JSON bodies of all create requests, oldest first. */
    public List<JsonObject> createBodies() {
        List<JsonObject> bodies = new ArrayList<>();
        for (RecordedRequest r : requests(Route.CREATE)) {
            bodies.add(r.json());
        }
        return bodies;
    }

    /** The prediction as GET would show it. */
    public Optional<JsonObject> prediction(String id) {
        return simulator.prediction(id);
    }

    /** Ids of known predictions, oldest first. */
    public List<String> predictionIds() {
        return simulator.predictionIds();
    }

    /** The newest prediction's id, if any. */
    public Optional<String> lastPredictionId() {
        List<String> ids = simulator.predictionIds();
        return ids.isEmpty() ? Optional.empty() : Optional.of(ids.get(ids.size() - 1));
    }

    // ---------------------------------------------------------------- internals

    private void sink(RoutingContext ctx) {
        Map<String, String> headers = new java.util.LinkedHashMap<>();
        ctx.request().headers().forEach(h -> headers.putIfAbsent(h.getKey().toLowerCase(Locale.ROOT), h.getValue()));
        Integer scripted = sinkStatuses.poll();
        int status = scripted == null ? 200 : scripted;
        byte[] body = ctx.body().buffer() == null ? new byte[0] : ctx.body().buffer().getBytes();
        receivedWebhooks.add(new ReceivedWebhook(ctx.request().path(), ctx.request().query(), Map.copyOf(headers), body, status,
                Instant.now()));
        ctx.response().setStatusCode(status).end();
    }

    private void holdList(RoutingContext ctx) {
        ListHold hold = listHold;
        if (hold == null || simulator.predictionIds().size() >= hold.predictions()) {
            ctx.next();
            return;
        }
        long until = System.nanoTime() + hold.max().toNanos();
        vertx.setPeriodic(20, id -> {
            if (simulator.predictionIds().size() >= hold.predictions() || System.nanoTime() > until
                    || ctx.response().closed()) {
                vertx.cancelTimer(id);
                ctx.next();
            }
        });
    }

    private void drip(RoutingContext ctx) {
        Drip plan = drip;
        dripRequests.incrementAndGet();
        int index;
        try {
            index = Integer.parseInt(ctx.pathParam("index"));
        } catch (NumberFormatException e) {
            ctx.response().setStatusCode(404).end();
            return;
        }
        if (plan == null) {
            ctx.response().setStatusCode(404).end();
            return;
        }
        simulator.outputBytes(ctx.pathParam("id"), index).onComplete(ar -> {
            if (ar.failed()) {
                ctx.response().setStatusCode(404).end();
                return;
            }
            byte[] bytes = ar.result();
            var response = ctx.response().setStatusCode(200).putHeader("Content-Type", "image/png")
                    .putHeader("Content-Length", Integer.toString(bytes.length));
            int step = Math.max(1, (bytes.length + plan.chunks() - 1) / plan.chunks());
            int[] sent = { 0 };
            long timer = vertx.setPeriodic(Math.max(1, plan.every().toMillis()), id -> {
                if (response.closed() || response.ended()) {
                    vertx.cancelTimer(id);
                    return;
                }
                int end = Math.min(bytes.length, sent[0] + step);
                response.write(io.vertx.core.buffer.Buffer.buffer(java.util.Arrays.copyOfRange(bytes, sent[0], end)));
                sent[0] = end;
                if (end >= bytes.length) {
                    vertx.cancelTimer(id);
                    response.end();
                }
            });
            response.closeHandler(v -> vertx.cancelTimer(timer));
        });
    }

    private static <T> void bounded(ConcurrentLinkedDeque<T> deque, T item) {
        deque.add(item);
        while (deque.size() > MAX_RECORDED) {
            deque.poll();
        }
    }

    /** The interceptor: records, then applies the scripted faults. */
    private final class Script implements SimulatorInterceptor {

        @Override
        public Fault beforeRoute(Route route, RoutingContext ctx) {
            Map<String, List<String>> headers = new java.util.LinkedHashMap<>();
            ctx.request().headers().forEach(h -> headers.computeIfAbsent(h.getKey().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                    .add(h.getValue()));
            // Only the POST routes have a BodyHandler in front of them.
            String body = ctx.request().method() == io.vertx.core.http.HttpMethod.POST && ctx.body() != null
                    ? ctx.body().asString()
                    : null;
            bounded(requests, new RecordedRequest(route, ctx.request().method().name(), ctx.request().path(), ctx.request().query(),
                    Collections.unmodifiableMap(headers), body, Instant.now()));
            if (route == Route.CREATE && lostCreateAnswers.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                // The create is carried out; its answer is dropped on the way out.
                ctx.addHeadersEndHandler(v -> ctx.request().connection().close());
            }
            if (route == Route.FILE) {
                Fault outputFault = outputFault(ctx.request().path());
                if (outputFault != null) {
                    return outputFault;
                }
            }
            Fault next = queued.get(route).poll();
            if (next != null) {
                return next;
            }
            if (outOfCredit && route == Route.CREATE) {
                return Fault.problem(402, new JsonObject().put("title", "Insufficient credit").put("detail",
                        "You have insufficient credit to run this model. Go to https://replicate.com/account/billing#billing to purchase credit."));
            }
            Fault stormy = stormFault(route, ctx);
            if (stormy != null) {
                return stormy;
            }
            Duration d = latency.get(route);
            return d == null ? Fault.proceed() : Fault.proceed().after(d);
        }

        /** The storm's fault for this call, or null to serve it normally. */
        private Fault stormFault(Route route, RoutingContext ctx) {
            Storm s = storm;
            if (s == null || route == Route.WEBHOOK_SECRET || s.roll() >= s.rate()) {
                return null;
            }
            int kinds = route == Route.CREATE || route == Route.FILE ? 7 : 5;
            int kind = s.pick(kinds);
            String name = route + " " + switch (kind) {
                case 0 -> "429";
                case 1 -> "500";
                case 2 -> "503";
                case 3 -> "hang";
                case 4 -> "reset";
                case 5 -> route == Route.CREATE ? "answer lost" : "truncated";
                default -> route == Route.CREATE ? "503 after create" : "expired";
            };
            switch (kind) {
                case 0 -> {
                    countStorm(name);
                    JsonObject body = new JsonObject().put("detail", "Request was throttled. Your rate limit resets in ~1s.")
                            .put("status", 429).put("retry_after", 1);
                    return Fault.respond(429, Map.of("Content-Type", "application/problem+json", "Retry-After", "1"), body.encode());
                }
                case 1, 2 -> {
                    countStorm(name);
                    int status = kind == 1 ? 500 : 503;
                    return Fault.respond(status, Map.of("Content-Type", "text/html"),
                            "<html><body><h1>" + status + " Server Error</h1></body></html>");
                }
                case 3 -> {
                    countStorm(name);
                    return Fault.hang();
                }
                case 4 -> {
                    countStorm(name);
                    return Fault.reset();
                }
                default -> {
                    if (route == Route.CREATE) {
                        // The create is carried out, but its answer never arrives (kind 5: the connection
                        // closes; kind 6: a gateway answers 503 in its place).
                        countStorm(name);
                        if (kind == 5) {
                            ctx.addHeadersEndHandler(v -> ctx.request().connection().close());
                        } else {
                            ctx.addHeadersEndHandler(v -> {
                                ctx.response().setStatusCode(503);
                            });
                        }
                        return Fault.proceed();
                    }
                    String path = ctx.request().path();
                    int files = path.indexOf("/files/");
                    int dash = path.lastIndexOf("/out-");
                    int dot = path.lastIndexOf('.');
                    if (files < 0 || dash <= files + 7 || dot <= dash + 5) {
                        return null;
                    }
                    String predictionId = path.substring(files + 7, dash);
                    if (kind == 5) {
                        countStorm(name);
                        stormTruncations.add(predictionId + "/" + path.substring(dash + 5, dot));
                    } else if (simulator.expireOutputs(predictionId)) {
                        countStorm(name);
                    }
                    return Fault.proceed();
                }
            }
        }

        @Override
        public PredictionPlan plan(String predictionId, String model, JsonObject input, PredictionPlan defaultPlan) {
            String prompt = Objects.toString(input.getValue("prompt"), "");
            for (PromptRule rule : promptRules) {
                if (prompt.contains(rule.substring())) {
                    return defaultPlan.withOutcome(rule.outcome(), rule.error());
                }
            }
            return defaultPlan;
        }

        private Fault outputFault(String path) {
            int dash = path.lastIndexOf("/out-");
            int dot = path.lastIndexOf('.');
            if (dash < 0 || dot <= dash + 5) {
                return null;
            }
            try {
                ConcurrentLinkedDeque<Fault> faults = outputFaults.get(Integer.parseInt(path.substring(dash + 5, dot)));
                return faults == null ? null : faults.poll();
            } catch (NumberFormatException e) {
                return null;
            }
        }

        @Override
        public Future<List<String>> output(String predictionId, List<String> urls) {
            return plainOutput(predictionId, urls).map(list -> {
                List<String> all = new ArrayList<>(list);
                for (int i = 0; i < extraOutputs; i++) {
                    all.add(filesBaseUrl() + "/" + predictionId + "/out-" + (urls.size() + i) + ".png");
                }
                return all;
            });
        }

        private Future<List<String>> plainOutput(String predictionId, List<String> urls) {
            if (drip != null) {
                List<String> dripped = new ArrayList<>();
                for (int i = 0; i < urls.size(); i++) {
                    dripped.add(baseUrl + DRIP_PATH + "/" + predictionId + "/" + i);
                }
                return Future.succeededFuture(dripped);
            }
            String host = outputsHost;
            if (outputsAsDataUri) {
                List<Future<String>> uris = new ArrayList<>();
                for (int i = 0; i < urls.size(); i++) {
                    uris.add(simulator.outputBytes(predictionId, i)
                            .map(bytes -> "data:image/png;base64," + Base64.getEncoder().encodeToString(bytes)));
                }
                return Future.all(uris).map(all -> all.<String>list());
            }
            if (host != null) {
                return Future.succeededFuture(urls.stream().map(u -> onHost(u, host)).toList());
            }
            return Future.succeededFuture(urls);
        }

        @Override
        public FileBody fileBody(String predictionId, int index, byte[] png) {
            if (truncateDownloads || stormTruncations.remove(predictionId + "/" + index)) {
                return FileBody.truncated(png);
            }
            long oversize = oversizeBytes;
            if (oversize > 0) {
                return FileBody.padded(png, oversize);
            }
            return FileBody.of(png);
        }

        @Override
        public int webhookCopies(String predictionId, String event) {
            Storm s = storm;
            if (s != null && s.roll() < s.rate()) {
                boolean drop = s.pick(2) == 0;
                countStorm(drop ? "webhook dropped" : "webhook twice");
                return drop ? 0 : 2 * webhookCopies;
            }
            return webhookCopies;
        }

        @Override
        public Duration webhookDelay(String predictionId, String event, int copy) {
            Storm s = storm;
            if (s == null || s.maxWebhookDelay() == null || s.roll() >= s.rate()) {
                return Duration.ZERO;
            }
            countStorm("webhook late");
            return Duration.ofMillis(1 + s.pick((int) Math.max(1, s.maxWebhookDelay().toMillis())));
        }

        @Override
        public void webhookAttempted(WebhookAttempt attempt) {
            bounded(webhookAttempts, attempt);
        }

        private String onHost(String url, String host) {
            URI u = URI.create(url);
            return u.getScheme() + "://" + host + u.getRawPath();
        }
    }
}
