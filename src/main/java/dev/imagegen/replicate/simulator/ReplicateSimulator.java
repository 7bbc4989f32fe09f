package dev.imagegen.replicate.simulator;

import static dev.imagegen.replicate.simulator.Responses.problem;
import static dev.imagegen.replicate.simulator.Responses.rateLimitHeaders;
import static dev.imagegen.replicate.simulator.Responses.send;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jboss.logging.Logger;

import dev.imagegen.webhook.StandardWebhooks;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

/**
 * An in-memory, Replicate-compatible HTTP API (replicate-api.md), as a set of Vert.x Web routes.
 *
 * <h2>Use</h2>
 * <ul>
 * <li>Dev mode: {@code new ReplicateSimulator(vertx, "http://localhost:8080", delay).mount(router, "/replicate-sim")}
 * on the Quarkus router (for instance from {@code void init(@Observes Router router)}); the client's
 * base URL is then {@code http://localhost:8080/replicate-sim}.</li>
 * <li>Tests: {@link #listen(String, int)} serves it alone (pass a null {@code publicBaseUrl} to derive it
 * from the bound port).</li>
 * </ul>
 *
 * <h2>Routes (under the mount prefix)</h2>
 * <ul>
 * <li>{@code POST /v1/models/{owner}/{name}/predictions} (official models only, else 404) and
 * {@code POST /v1/predictions} (body {@code version}: 64-hex, {@code owner/name:<64-hex>}, or an official
 * {@code owner/name}; else 422 "Invalid version or not permitted"). Both answer {@code 201} with the
 * prediction, honour {@code Prefer: wait[=N]} (held until terminal or N seconds, then
 * {@code Preference-Applied}), {@code Cancel-After}, {@code webhook} and {@code webhook_events_filter}.</li>
 * <li>{@code GET /v1/predictions/{id}}, {@code POST /v1/predictions/{id}/cancel}, {@code GET /v1/predictions}
 * (newest first, 100 per page, {@code created_after}/{@code created_before}),
 * {@code GET /v1/webhooks/default/secret}.</li>
 * <li>{@code GET|HEAD /files/{id}/out-{i}.png}: the output files, without auth, with single-range support.</li>
 * </ul>
 * Every {@code /v1} call needs {@code Authorization: Bearer <token>} (any non-empty token unless
 * {@link #acceptTokens} says otherwise); the older {@code Token} scheme is refused.
 *
 * <h2>What it simplifies</h2>
 * <ul>
 * <li>Files are always PNG (rendered lazily by {@link PngImages}, at most {@value #MAX_RENDER_SIDE} px
 * per side), named {@code out-N.png} and served as {@code image/png}, whatever {@code output_format} asks
 * for: a client must trust {@code Content-Type} and the bytes, not the requested format.</li>
 * <li>Every model requires a string {@code prompt}; unknown input keys are ignored; {@code http} webhook
 * URLs are accepted (the real API wants https).</li>
 * <li>Outputs expire after {@link #outputRetention} (1 hour by default) or on {@link #expireOutputs}.</li>
 * <li>Official models report an internal {@code dp-…} version; an unknown 64-hex version runs as model
 * {@value #UNKNOWN_VERSION_MODEL}. An invalid {@code Prefer} or {@code Cancel-After} (under 5 s) is a 400
 * (the real wording is not recorded).</li>
 * <li>Webhooks: without {@code webhook_events_filter} every event is sent; the {@code output} event carries
 * status {@code processing} with the output and precedes {@code completed}; deliveries are not ordered.</li>
 * <li>Not served: {@code /v1/deployments/...}, model and version lookups, streaming.</li>
 * </ul>
 *
 * <h2>Extension</h2>
 * A {@link SimulatorInterceptor} ({@link #interceptor(SimulatorInterceptor)}) sees every request first and
 * may answer it with a {@link Fault}, and decides how predictions end, what their output URLs are, what a
 * file download sends, and how webhooks are duplicated or dropped.
 *
 * <p>Nothing here blocks an event loop: lifecycles run on timers, PNGs render on worker threads, state is
 * guarded by short monitors.
 */
public class ReplicateSimulator implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(ReplicateSimulator.class);

    /** Models served by {@code /v1/models/{owner}/{name}/predictions} unless {@link #officialModels} says otherwise. */
    public static final List<String> DEFAULT_OFFICIAL_MODELS = List.of("black-forest-labs/flux-schnell",
            "black-forest-labs/flux-dev");

    /** Version ids known by default (both {@code stability-ai/sdxl}, replicate-api.md §2.1). */
    public static final Map<String, String> DEFAULT_KNOWN_VERSIONS = Map.of(
            "7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc", "stability-ai/sdxl",
            "39ed52f2a78e934b3ba6e2a89f5b1c712de7dfea535525255b1aa35c5565e08b", "stability-ai/sdxl");

    /** Largest rendered side; larger requested sizes are clamped. */
    public static final int MAX_RENDER_SIDE = 2048;

    /** Model name used for an unknown 64-hex version accepted because {@link #acceptAnyVersion} is on. */
    public static final String UNKNOWN_VERSION_MODEL = "simulator/any-version";

    public static final String NOT_FOUND_DETAIL = "The requested resource could not be found.";

    private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern OWNER_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*");
    private static final Pattern PREFER = Pattern.compile("^wait(=([1-9]|[1-9][0-9]|60))?$");
    private static final Pattern CANCEL_AFTER = Pattern.compile("^(?:(\\d+)h)?(?:(\\d+)m)?(?:(\\d+)s)?$");
    private static final Pattern FILE_NAME = Pattern.compile("out-(\\d{1,2})\\.([a-z]{3,4})");
    private static final String JSON = Responses.JSON;
    private static final String PROBLEM_JSON = Responses.PROBLEM_JSON;
    private static final int PAGE_SIZE = 100;
    private static final long BODY_LIMIT = 1024 * 1024;

    private final Vertx vertx;
    private final WebhookSender webhooks;

    private volatile String publicBaseUrl;
    private volatile String prefix = "";
    private volatile Duration delay;
    private volatile SimulatorInterceptor interceptor = SimulatorInterceptor.NONE;
    private volatile Set<String> officialModels = Set.copyOf(DEFAULT_OFFICIAL_MODELS);
    private final Map<String, String> knownVersions = new ConcurrentHashMap<>(DEFAULT_KNOWN_VERSIONS);
    private volatile boolean acceptAnyVersion = true;
    private volatile Predicate<String> tokenCheck = token -> !token.isBlank();
    private volatile String webhookSecret = StandardWebhooks.newSecret();
    private volatile List<Duration> webhookRetryBackoff = List.of(Duration.ofSeconds(1), Duration.ofSeconds(3),
            Duration.ofSeconds(8), Duration.ofSeconds(16), Duration.ofSeconds(32));
    private volatile Duration webhookTimeout = Duration.ofSeconds(10);
    private volatile int maxPredictions = 10_000;
    private volatile Duration outputRetention = Duration.ofHours(1);

    /** Newest last; guarded by itself. */
    private final LinkedHashMap<String, SimPrediction> predictions = new LinkedHashMap<>();
    private final OutputFiles files;
    private final Set<Long> timers = ConcurrentHashMap.newKeySet();
    private final Set<HttpConnection> hung = ConcurrentHashMap.newKeySet();
    private final Map<Route, AtomicInteger> calls = new EnumMap<>(Route.class);
    private final AtomicInteger creates = new AtomicInteger();
    private final AtomicInteger running = new AtomicInteger();
    private final AtomicInteger maxRunning = new AtomicInteger();
    private final AtomicLong epoch = new AtomicLong();
    private volatile HttpServer server;

    /**
     * @param vertx         the Vert.x instance (Quarkus' own in dev mode)
     * @param publicBaseUrl how clients reach the host the routes are mounted on, without the mount prefix
     *                      and without a trailing slash ({@code http://localhost:8080}); null to derive it from
     *                      each create request's {@code Host} (or from {@link #listen}'s port)
     * @param delay         how long a prediction takes, creation to {@code succeeded}
     */
    public ReplicateSimulator(Vertx vertx, String publicBaseUrl, Duration delay) {
        this.vertx = Objects.requireNonNull(vertx);
        this.publicBaseUrl = stripSlash(publicBaseUrl);
        this.delay = Objects.requireNonNull(delay);
        this.webhooks = new WebhookSender(vertx, this);
        this.files = new OutputFiles(vertx, 64L * 1024 * 1024);
        for (Route r : Route.values()) {
            calls.put(r, new AtomicInteger());
        }
    }

    // ---------------------------------------------------------------- mounting and serving

    /**
     * Adds the simulator's routes to {@code router}, under {@code prefix} ({@code ""} or {@code "/sim"};
     * a trailing slash is ignored). Adds no catch-all, so the rest of the router is unaffected.
     */
    public void mount(Router router, String prefix) {
        String p = prefix == null ? "" : stripSlash(prefix.trim());
        if (!p.isEmpty() && !p.startsWith("/")) {
            p = "/" + p;
        }
        this.prefix = p;
        BodyHandler body = BodyHandler.create(false).setBodyLimit(BODY_LIMIT);
        router.post(p + "/v1/models/:owner/:name/predictions").handler(body)
                .handler(ctx -> dispatch(Route.CREATE, ctx, this::createOfficial));
        router.post(p + "/v1/predictions").handler(body)
                .handler(ctx -> dispatch(Route.CREATE, ctx, this::createWithVersion));
        router.get(p + "/v1/predictions").handler(ctx -> dispatch(Route.LIST, ctx, this::list));
        router.get(p + "/v1/predictions/:id").handler(ctx -> dispatch(Route.GET, ctx, this::get));
        router.post(p + "/v1/predictions/:id/cancel").handler(body)
                .handler(ctx -> dispatch(Route.CANCEL, ctx, this::cancel));
        router.get(p + "/v1/webhooks/default/secret").handler(ctx -> dispatch(Route.WEBHOOK_SECRET, ctx, this::secret));
        router.get(p + "/files/:id/:file").handler(ctx -> dispatch(Route.FILE, ctx, this::file));
        router.head(p + "/files/:id/:file").handler(ctx -> dispatch(Route.FILE, ctx, this::file));
    }

    /**
     * Serves the simulator alone (mounted at {@code ""}) on {@code host:port} ({@code 0} for a random port),
     * answering 404 to anything else. If no public base URL was given, it becomes {@code http://host:port}.
     */
    public Future<HttpServer> listen(String host, int port) {
        Router router = Router.router(vertx);
        mount(router, "");
        router.route().last().handler(ctx -> notFound(ctx, false));
        return vertx.createHttpServer(new HttpServerOptions().setHost(host).setPort(port))
                .requestHandler(router)
                .listen()
                .map(s -> {
                    server = s;
                    if (publicBaseUrl == null) {
                        publicBaseUrl = "http://" + host + ":" + s.actualPort();
                    }
                    return s;
                });
    }

    /** Stops timers, drops hung connections, closes the webhook client and the {@link #listen} server if any. */
    @Override
    public void close() {
        closeAsync();
    }

    /** {@link #close()}, with a future that completes once the server and client are closed. */
    public Future<Void> closeAsync() {
        cancelTimers();
        releaseHung();
        HttpServer s = server;
        Future<Void> closed = s == null ? Future.succeededFuture() : s.close();
        return closed.transform(ignored -> webhooks.close());
    }

    // ---------------------------------------------------------------- settings (fluent, thread-safe)

    public ReplicateSimulator interceptor(SimulatorInterceptor interceptor) {
        this.interceptor = interceptor == null ? SimulatorInterceptor.NONE : interceptor;
        return this;
    }

    /** The base clients use, without prefix and trailing slash. */
    public ReplicateSimulator publicBaseUrl(String url) {
        this.publicBaseUrl = stripSlash(url);
        return this;
    }

    /** How long new predictions take from creation to completion. */
    public ReplicateSimulator delay(Duration delay) {
        this.delay = Objects.requireNonNull(delay);
        return this;
    }

    /** The {@code owner/name}s served by the official-model route (replaces the set). */
    public ReplicateSimulator officialModels(Collection<String> models) {
        this.officialModels = Set.copyOf(models);
        return this;
    }

    /** Adds a known version id and the model it belongs to. */
    public ReplicateSimulator knownVersion(String versionId, String model) {
        knownVersions.put(versionId, model);
        return this;
    }

    /** Whether an unknown (but well-formed) 64-hex version is accepted (default true). */
    public ReplicateSimulator acceptAnyVersion(boolean accept) {
        this.acceptAnyVersion = accept;
        return this;
    }

    /** Which bearer tokens are valid (default: any non-blank one). */
    public ReplicateSimulator acceptTokens(Predicate<String> check) {
        this.tokenCheck = Objects.requireNonNull(check);
        return this;
    }

    /** The {@code whsec_…} secret webhooks are signed with (a random one by default). */
    public ReplicateSimulator webhookSecret(String secret) {
        this.webhookSecret = Objects.requireNonNull(secret);
        return this;
    }

    /** Delays between retries of a terminal webhook; its size is the number of retries (default 1, 3, 8, 16, 32 s). */
    public ReplicateSimulator webhookRetryBackoff(List<Duration> backoff) {
        this.webhookRetryBackoff = List.copyOf(backoff);
        return this;
    }

    /** Connect and idle timeout of one webhook delivery (default 10 s). */
    public ReplicateSimulator webhookTimeout(Duration timeout) {
        this.webhookTimeout = Objects.requireNonNull(timeout);
        return this;
    }

    /** How many predictions are kept; the oldest are forgotten first (default 10,000). */
    public ReplicateSimulator maxPredictions(int max) {
        this.maxPredictions = Math.max(1, max);
        return this;
    }

    /** Memory bound of the rendered-file cache (default 64 MiB). */
    public ReplicateSimulator fileCacheBytes(long bytes) {
        files.maxBytes(bytes);
        return this;
    }

    /** How long outputs of succeeded predictions stay available; null or zero keeps them (default 1 hour). */
    public ReplicateSimulator outputRetention(Duration retention) {
        this.outputRetention = retention;
        return this;
    }

    public String webhookSecret() {
        return webhookSecret;
    }

    public Duration delay() {
        return delay;
    }

    /** The mount prefix in use ({@code ""} when served alone). */
    public String prefix() {
        return prefix;
    }

    /** The public base URL, or null while it is still to be derived. */
    public String publicBaseUrl() {
        return publicBaseUrl;
    }

    public Vertx vertx() {
        return vertx;
    }

    // ---------------------------------------------------------------- state and counters

    /** The prediction as {@code GET} would answer it, if known. */
    public Optional<JsonObject> prediction(String id) {
        SimPrediction p = find(id);
        return p == null ? Optional.empty() : Optional.of(p.toJson(true));
    }

    /** Ids of the known predictions, oldest first. */
    public List<String> predictionIds() {
        synchronized (predictions) {
            return new ArrayList<>(predictions.keySet());
        }
    }

    /**
     * Removes a prediction's output as retention does: {@code data_removed:true}, {@code output:null},
     * file downloads 404.
     *
     * @return false when the id is unknown or the output was already removed
     */
    public boolean expireOutputs(String id) {
        SimPrediction p = find(id);
        if (p == null || !p.expire()) {
            return false;
        }
        files.forget(id);
        return true;
    }

    /**
     * The bytes of output file {@code index} of a prediction (rendered on a worker thread, then cached),
     * even before the prediction has finished. Fails when the prediction or file does not exist.
     */
    public Future<byte[]> outputBytes(String id, int index) {
        SimPrediction p = find(id);
        if (p == null || !p.hasFile(index)) {
            return Future.failedFuture(new IllegalArgumentException("no output " + index + " for prediction " + id));
        }
        return files.bytes(p, index, this::keepFiles);
    }

    /** Requests to {@code route}, including faulted and refused ones. */
    public int calls(Route route) {
        return calls.get(route).get();
    }

    /** Predictions created (answered 201). */
    public int createCount() {
        return creates.get();
    }

    /** Successful {@code GET}s of one prediction. */
    public int getCount(String id) {
        SimPrediction p = find(id);
        return p == null ? 0 : p.gets.get();
    }

    /** Cancel calls for one prediction (including those on terminal predictions). */
    public int cancelCount(String id) {
        SimPrediction p = find(id);
        return p == null ? 0 : p.cancels.get();
    }

    /** Predictions currently {@code starting} or {@code processing}. */
    public int running() {
        return running.get();
    }

    /** The most predictions ever {@code starting} or {@code processing} at once since the last reset. */
    public int maxRunning() {
        return maxRunning.get();
    }

    /** Zeroes the counters (route calls, creates, max running); predictions are kept. */
    public void resetCounters() {
        calls.values().forEach(c -> c.set(0));
        creates.set(0);
        maxRunning.set(running.get());
    }

    /** Forgets every prediction and file, stops pending timers, releases hung requests, zeroes counters. */
    public void reset() {
        epoch.incrementAndGet();
        cancelTimers();
        releaseHung();
        synchronized (predictions) {
            predictions.clear();
        }
        files.clear();
        running.set(0);
        resetCounters();
    }

    // ---------------------------------------------------------------- dispatch and faults

    private void dispatch(Route route, RoutingContext ctx, Consumer<RoutingContext> handler) {
        calls.get(route).incrementAndGet();
        Fault fault;
        try {
            fault = interceptor.beforeRoute(route, ctx);
        } catch (RuntimeException e) {
            LOG.warnf(e, "Simulator interceptor failed on %s", route);
            fault = Fault.problem(500, problem("Internal Server Error", "interceptor failed: " + e.getMessage(), 500));
        }
        Fault f = fault == null ? Fault.proceed() : fault;
        if (f.latency().isZero() || f.latency().isNegative()) {
            act(route, ctx, handler, f);
        } else {
            vertx.setTimer(Math.max(1, f.latency().toMillis()), t -> act(route, ctx, handler, f));
        }
    }

    private void act(Route route, RoutingContext ctx, Consumer<RoutingContext> handler, Fault f) {
        HttpServerResponse resp = ctx.response();
        if (resp.closed() || resp.ended()) {
            return;
        }
        switch (f.action()) {
            case PROCEED -> {
                try {
                    handler.accept(ctx);
                } catch (RuntimeException e) {
                    LOG.errorf(e, "Simulator route %s failed", route);
                    if (!resp.ended() && !resp.headWritten()) {
                        send(ctx, 500, PROBLEM_JSON, problem("Internal Server Error", String.valueOf(e.getMessage()), 500));
                    }
                }
            }
            case RESPOND -> {
                resp.setStatusCode(f.status());
                f.headers().forEach(resp::putHeader);
                if (f.body() == null) {
                    resp.end();
                } else {
                    resp.end(f.body());
                }
            }
            case HANG -> {
                HttpConnection connection = ctx.request().connection();
                hung.add(connection);
                connection.closeHandler(v -> hung.remove(connection));
            }
            case RESET -> ctx.request().connection().close();
        }
    }

    private void releaseHung() {
        for (Iterator<HttpConnection> it = hung.iterator(); it.hasNext();) {
            HttpConnection c = it.next();
            it.remove();
            c.close();
        }
    }

    // ---------------------------------------------------------------- create

    private void createOfficial(RoutingContext ctx) {
        if (!authorized(ctx, Route.CREATE)) {
            return;
        }
        String model = ctx.pathParam("owner") + "/" + ctx.pathParam("name");
        if (!officialModels.contains(model)) {
            notFound(ctx, true);
            return;
        }
        JsonObject body = jsonBody(ctx, Route.CREATE);
        if (body != null) {
            create(ctx, body, model, officialVersion(model));
        }
    }

    private void createWithVersion(RoutingContext ctx) {
        if (!authorized(ctx, Route.CREATE)) {
            return;
        }
        JsonObject body = jsonBody(ctx, Route.CREATE);
        if (body == null) {
            return;
        }
        Object raw = body.getValue("version");
        if (!(raw instanceof String version) || version.isBlank()) {
            List<JsonObject> errors = List.of(new JsonObject().put("type", "required").put("field", "(root)")
                    .put("description", "version is required"));
            inputInvalid(ctx, errors);
            return;
        }
        String model;
        String versionId;
        if (HEX64.matcher(version).matches()) {
            versionId = version;
            model = knownVersions.get(version);
            if (model == null && acceptAnyVersion) {
                model = UNKNOWN_VERSION_MODEL;
            }
        } else if (version.indexOf(':') > 0) {
            String name = version.substring(0, version.indexOf(':'));
            versionId = version.substring(version.indexOf(':') + 1);
            boolean known = knownVersions.containsKey(versionId) && name.equals(knownVersions.get(versionId));
            model = OWNER_NAME.matcher(name).matches() && HEX64.matcher(versionId).matches() && (known || acceptAnyVersion)
                    ? name
                    : null;
        } else if (officialModels.contains(version)) {
            model = version;
            versionId = officialVersion(version);
        } else {
            model = null;
            versionId = null;
        }
        if (model == null) {
            send(ctx, 422, PROBLEM_JSON, new JsonObject()
                    .put("title", "Invalid version or not permitted")
                    .put("detail", "The specified version does not exist (or perhaps you don't have permission to use it?)")
                    .put("status", 422));
            return;
        }
        create(ctx, body, model, versionId);
    }

    private void create(RoutingContext ctx, JsonObject body, String model, String version) {
        String prefer = ctx.request().getHeader("Prefer");
        int waitSeconds = 0;
        if (prefer != null) {
            Matcher m = PREFER.matcher(prefer.trim());
            // The schema's pattern lets 61..99 through; the documented range is 1..60.
            if (!m.matches() || (m.group(2) != null && Integer.parseInt(m.group(2)) > 60)) {
                send(ctx, 400, PROBLEM_JSON, problem("Bad Request",
                        "Prefer must be \"wait\" or \"wait=N\" with N from 1 to 60", 400));
                return;
            }
            waitSeconds = m.group(2) == null ? 60 : Integer.parseInt(m.group(2));
        }
        Duration cancelAfter = null;
        String cancelAfterHeader = ctx.request().getHeader("Cancel-After");
        if (cancelAfterHeader != null) {
            cancelAfter = parseCancelAfter(cancelAfterHeader.trim());
            if (cancelAfter == null || cancelAfter.compareTo(Duration.ofSeconds(5)) < 0) {
                send(ctx, 400, PROBLEM_JSON, problem("Bad Request",
                        "Cancel-After must be a duration of at least 5s, such as 30, 90s or 1h30m", 400));
                return;
            }
        }
        List<JsonObject> errors = new ArrayList<>(ModelInputs.validate(model, body));
        String webhook = null;
        JsonArray filter = null;
        if (body.containsKey("webhook") && body.getValue("webhook") != null) {
            Object w = body.getValue("webhook");
            if (w instanceof String s && validWebhookUrl(s)) {
                webhook = s;
            } else {
                errors.add(new JsonObject().put("type", "format").put("field", "webhook")
                        .put("description", "Does not match format 'uri'"));
            }
        }
        if (body.containsKey("webhook_events_filter") && body.getValue("webhook_events_filter") != null) {
            Object raw = body.getValue("webhook_events_filter");
            if (raw instanceof JsonArray a && a.stream().allMatch(e -> e instanceof String && SimPrediction.ALL_EVENTS.contains(e))) {
                filter = a.copy();
            } else {
                errors.add(new JsonObject().put("type", "enum").put("field", "webhook_events_filter")
                        .put("description", "webhook_events_filter must be a list of \"start\", \"output\", \"logs\", \"completed\""));
            }
        }
        if (!errors.isEmpty()) {
            inputInvalid(ctx, errors);
            return;
        }
        JsonObject input = body.getJsonObject("input").copy();
        long seed = input.getValue("seed") instanceof Number n ? n.longValue() : ThreadLocalRandom.current().nextInt(0, Integer.MAX_VALUE);
        int[] size = ModelInputs.size(model, input, MAX_RENDER_SIDE);
        String base = publicBaseUrl != null ? publicBaseUrl : requestBase(ctx);
        SimPrediction p = new SimPrediction(Ids.next(), model, version, input, seed, size[0], size[1], base + prefix, webhook,
                filter, cancelAfter, epoch.get());
        store(p);
        creates.incrementAndGet();
        int now = running.incrementAndGet();
        maxRunning.accumulateAndGet(now, Math::max);

        PredictionPlan plan = PredictionPlan.succeedAfter(delay);
        try {
            plan = Objects.requireNonNullElse(interceptor.plan(p.id, model, input.copy(), plan), plan);
        } catch (RuntimeException e) {
            LOG.warnf(e, "Simulator interceptor failed to plan %s", p.id);
        }
        webhooks.send(p, "start");
        run(p, plan);
        if (cancelAfter != null) {
            later(cancelAfter, () -> {
                if ("starting".equals(p.status())) {
                    finish(p, "aborted", null);
                } else {
                    finish(p, "canceled", null);
                }
            });
        }
        respondCreated(ctx, p, waitSeconds, prefer == null ? null : prefer.trim());
    }

    private void respondCreated(RoutingContext ctx, SimPrediction p, int waitSeconds, String preferApplied) {
        if (waitSeconds <= 0) {
            sendCreated(ctx, p, null);
            return;
        }
        Context context = vertx.getOrCreateContext();
        AtomicBoolean answered = new AtomicBoolean();
        long[] timer = new long[] { -1 };
        Runnable answer = () -> {
            if (answered.compareAndSet(false, true)) {
                if (timer[0] >= 0) {
                    vertx.cancelTimer(timer[0]);
                }
                context.runOnContext(v -> sendCreated(ctx, p, preferApplied));
            }
        };
        timer[0] = vertx.setTimer(waitSeconds * 1000L, t -> answer.run());
        if (!p.addWaiter(answer)) {
            answer.run();
        }
    }

    private void sendCreated(RoutingContext ctx, SimPrediction p, String preferApplied) {
        if (ctx.response().closed() || ctx.response().ended()) {
            return;
        }
        if (preferApplied != null) {
            ctx.response().putHeader("Preference-Applied", preferApplied);
        }
        rateLimitHeaders(ctx, Route.CREATE);
        send(ctx, 201, JSON, p.toJson(false));
    }

    // ---------------------------------------------------------------- lifecycle

    private void run(SimPrediction p, PredictionPlan plan) {
        switch (plan.outcome()) {
            case STALL_STARTING -> {
                // stays starting until canceled
            }
            case ABORT -> later(plan.queueTime(), () -> finish(p, "aborted", null));
            default -> later(plan.queueTime(), () -> {
                if (!p.start()) {
                    return;
                }
                webhooks.send(p, "logs");
                if (plan.outcome() != PredictionPlan.Outcome.STALL_PROCESSING) {
                    later(plan.runTime(), () -> complete(p, plan));
                }
            });
        }
    }

    private void complete(SimPrediction p, PredictionPlan plan) {
        switch (plan.outcome()) {
            case FAIL -> finish(p, "failed", plan.error() == null ? "Prediction failed" : plan.error());
            case CANCEL -> finish(p, "canceled", null);
            default -> {
                List<String> urls = new ArrayList<>();
                for (int i = 0; i < p.numOutputs; i++) {
                    urls.add(p.apiBase + "/files/" + p.id + "/out-" + i + "." + p.extension);
                }
                Future<List<String>> output;
                try {
                    output = interceptor.output(p.id, Collections.unmodifiableList(urls));
                } catch (RuntimeException e) {
                    output = Future.failedFuture(e);
                }
                output.onComplete(ar -> {
                    if (ar.failed()) {
                        finish(p, "failed", String.valueOf(ar.cause().getMessage()));
                    } else if (p.output(new JsonArray(new ArrayList<>(ar.result())))) {
                        webhooks.send(p, "output");
                        finish(p, "succeeded", null);
                    }
                });
            }
        }
    }

    private void finish(SimPrediction p, String status, String error) {
        List<Runnable> waiters = p.finish(status, error);
        if (waiters == null) {
            return;
        }
        if (p.epoch == epoch.get()) {
            running.decrementAndGet();
        }
        waiters.forEach(Runnable::run);
        webhooks.send(p, "completed");
        Duration retention = outputRetention;
        if ("succeeded".equals(status) && retention != null && !retention.isZero() && !retention.isNegative()) {
            later(retention, () -> expireOutputs(p.id));
        }
    }

    /** Whether {@code p} belongs to the current epoch (was not dropped by {@link #reset()}). */
    boolean current(SimPrediction p) {
        return p.epoch == epoch.get();
    }

    SimulatorInterceptor interceptorInUse() {
        return interceptor;
    }

    List<Duration> webhookRetryBackoff() {
        return webhookRetryBackoff;
    }

    Duration webhookTimeout() {
        return webhookTimeout;
    }

    private boolean keepFiles(SimPrediction p) {
        return !p.dataRemoved() && current(p);
    }

    /** Runs {@code action} after {@code d} on a timer that {@link #reset()} and {@link #close()} cancel. */
    void later(Duration d, Runnable action) {
        long ms = Math.max(1, d.toMillis());
        long id = vertx.setTimer(ms, t -> {
            timers.remove(t);
            action.run();
        });
        timers.add(id);
    }

    private void cancelTimers() {
        for (Iterator<Long> it = timers.iterator(); it.hasNext();) {
            long id = it.next();
            it.remove();
            vertx.cancelTimer(id);
        }
    }

    // ---------------------------------------------------------------- get, list, cancel, secret

    private void get(RoutingContext ctx) {
        if (!authorized(ctx, Route.GET)) {
            return;
        }
        SimPrediction p = find(ctx.pathParam("id"));
        if (p == null) {
            notFound(ctx, true);
            return;
        }
        p.gets.incrementAndGet();
        rateLimitHeaders(ctx, Route.GET);
        send(ctx, 200, JSON, p.toJson(true));
    }

    private void cancel(RoutingContext ctx) {
        if (!authorized(ctx, Route.CANCEL)) {
            return;
        }
        SimPrediction p = find(ctx.pathParam("id"));
        if (p == null) {
            notFound(ctx, true);
            return;
        }
        p.cancels.incrementAndGet();
        finish(p, "canceled", null);
        rateLimitHeaders(ctx, Route.CANCEL);
        send(ctx, 200, JSON, p.toJson(true));
    }

    private void list(RoutingContext ctx) {
        if (!authorized(ctx, Route.LIST)) {
            return;
        }
        Instant after;
        Instant before;
        int offset;
        try {
            after = instantParam(ctx, "created_after");
            before = instantParam(ctx, "created_before");
            String cursor = ctx.queryParams().get("cursor");
            offset = cursor == null ? 0 : Integer.parseInt(cursor);
        } catch (DateTimeParseException | NumberFormatException e) {
            send(ctx, 400, PROBLEM_JSON, problem("Bad Request", "Invalid query parameter: " + e.getMessage(), 400));
            return;
        }
        List<SimPrediction> all;
        synchronized (predictions) {
            all = new ArrayList<>(predictions.values());
        }
        Collections.reverse(all);
        List<SimPrediction> matching = all.stream()
                .filter(p -> after == null || p.createdAt.isAfter(after))
                .filter(p -> before == null || p.createdAt.isBefore(before))
                .toList();
        int from = Math.max(0, Math.min(offset, matching.size()));
        int to = Math.min(matching.size(), from + PAGE_SIZE);
        JsonArray results = new JsonArray();
        matching.subList(from, to).forEach(p -> results.add(p.toJson(true)));
        String self = apiBase(ctx) + "/v1/predictions";
        String filters = (after == null ? "" : "&created_after=" + ctx.queryParams().get("created_after"))
                + (before == null ? "" : "&created_before=" + ctx.queryParams().get("created_before"));
        JsonObject page = new JsonObject()
                .put("next", to < matching.size() ? self + "?cursor=" + to + filters : null)
                .put("previous", from > 0 ? self + "?cursor=" + Math.max(0, from - PAGE_SIZE) + filters : null)
                .put("results", results);
        rateLimitHeaders(ctx, Route.LIST);
        send(ctx, 200, JSON, page);
    }

    private void secret(RoutingContext ctx) {
        if (!authorized(ctx, Route.WEBHOOK_SECRET)) {
            return;
        }
        rateLimitHeaders(ctx, Route.WEBHOOK_SECRET);
        send(ctx, 200, JSON, new JsonObject().put("key", webhookSecret));
    }

    // ---------------------------------------------------------------- files

    private void file(RoutingContext ctx) {
        Matcher m = FILE_NAME.matcher(ctx.pathParam("file"));
        SimPrediction p = find(ctx.pathParam("id"));
        if (!m.matches() || p == null || !p.servesFile(Integer.parseInt(m.group(1)), m.group(2))) {
            notFound(ctx, false);
            return;
        }
        int index = Integer.parseInt(m.group(1));
        files.bytes(p, index, this::keepFiles).onComplete(ar -> {
            if (ar.failed()) {
                LOG.errorf(ar.cause(), "Simulator could not render %s/out-%d", p.id, index);
                send(ctx, 500, PROBLEM_JSON, problem("Internal Server Error", "rendering failed", 500));
                return;
            }
            FileBody body;
            try {
                body = interceptor.fileBody(p.id, index, ar.result());
            } catch (RuntimeException e) {
                LOG.warnf(e, "Simulator interceptor failed on file %s/%d", p.id, index);
                body = FileBody.of(ar.result());
            }
            files.send(ctx, p, index, body == null ? FileBody.of(ar.result()) : body);
        });
    }

    // ---------------------------------------------------------------- webhooks

    private static boolean validWebhookUrl(String url) {
        try {
            URI u = new URI(url);
            return ("https".equalsIgnoreCase(u.getScheme()) || "http".equalsIgnoreCase(u.getScheme())) && u.getHost() != null;
        } catch (Exception e) {
            return false;
        }
    }

    // ---------------------------------------------------------------- helpers

    private boolean authorized(RoutingContext ctx, Route route) {
        String header = ctx.request().getHeader("Authorization");
        String detail = null;
        if (header == null || header.isBlank()) {
            detail = "You did not pass an authentication token";
        } else {
            String h = header.trim();
            boolean bearer = h.regionMatches(true, 0, "Bearer ", 0, 7);
            String token = bearer ? h.substring(7).trim() : "";
            if (!bearer || token.isEmpty() || !tokenCheck.test(token)) {
                detail = "You did not pass a valid authentication token";
            }
        }
        if (detail == null) {
            return true;
        }
        rateLimitHeaders(ctx, route);
        send(ctx, 401, PROBLEM_JSON, new JsonObject().put("title", "Unauthenticated").put("detail", detail).put("status", 401));
        return false;
    }

    private JsonObject jsonBody(RoutingContext ctx, Route route) {
        String text = ctx.body() == null ? null : ctx.body().asString();
        if (text != null && !text.isBlank()) {
            try {
                Object parsed = Json.decodeValue(text);
                if (parsed instanceof JsonObject o) {
                    return o;
                }
            } catch (DecodeException e) {
                // fall through
            }
        }
        rateLimitHeaders(ctx, route);
        send(ctx, 400, PROBLEM_JSON, problem("Bad Request", "The request body must be a JSON object", 400));
        return null;
    }

    private void notFound(RoutingContext ctx, boolean api) {
        if (api) {
            rateLimitHeaders(ctx, null);
        }
        Responses.notFound(ctx);
    }

    private void inputInvalid(RoutingContext ctx, List<JsonObject> errors) {
        rateLimitHeaders(ctx, Route.CREATE);
        send(ctx, 422, PROBLEM_JSON, new JsonObject()
                .put("detail", ModelInputs.detail(errors))
                .put("status", 422)
                .put("title", "Input validation failed")
                .put("invalid_fields", new JsonArray(new ArrayList<>(errors))));
    }

    private SimPrediction find(String id) {
        if (id == null) {
            return null;
        }
        synchronized (predictions) {
            return predictions.get(id);
        }
    }

    private void store(SimPrediction p) {
        List<String> evicted = new ArrayList<>();
        synchronized (predictions) {
            predictions.put(p.id, p);
            Iterator<String> it = predictions.keySet().iterator();
            while (predictions.size() > maxPredictions && it.hasNext()) {
                evicted.add(it.next());
                it.remove();
            }
        }
        evicted.forEach(files::forget);
    }

    private String apiBase(RoutingContext ctx) {
        return (publicBaseUrl != null ? publicBaseUrl : requestBase(ctx)) + prefix;
    }

    private static String requestBase(RoutingContext ctx) {
        String host = ctx.request().getHeader("Host");
        if (host == null || host.isBlank()) {
            host = "localhost";
        }
        return ctx.request().scheme() + "://" + host;
    }

    /** Official models run as an internal deployment version ({@code dp-…}), stable per model. */
    private static String officialVersion(String model) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(model.getBytes(StandardCharsets.UTF_8));
            return "dp-" + HexFormat.of().formatHex(digest, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Instant instantParam(RoutingContext ctx, String name) {
        String v = ctx.queryParams().get(name);
        return v == null || v.isBlank() ? null : OffsetDateTime.parse(v.trim()).toInstant();
    }

    /** {@code 90}, {@code 90s}, {@code 5m}, {@code 1h30m45s}; null when malformed. */
    static Duration parseCancelAfter(String value) {
        if (value.isEmpty()) {
            return null;
        }
        if (value.chars().allMatch(Character::isDigit)) {
            return value.length() > 9 ? null : Duration.ofSeconds(Long.parseLong(value));
        }
        Matcher m = CANCEL_AFTER.matcher(value);
        if (!m.matches()) {
            return null;
        }
        try {
            long h = m.group(1) == null ? 0 : Long.parseLong(m.group(1));
            long min = m.group(2) == null ? 0 : Long.parseLong(m.group(2));
            long s = m.group(3) == null ? 0 : Long.parseLong(m.group(3));
            return Duration.ofHours(h).plusMinutes(min).plusSeconds(s);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static String stripSlash(String s) {
        if (s == null) {
            return null;
        }
        String r = s;
        while (r.endsWith("/")) {
            r = r.substring(0, r.length() - 1);
        }
        return r;
    }
}
