package dev.imagegen.simulator;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
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
 * <li>Outputs expire after {@link #outputRetention(Duration)} (1 hour by default) or on {@link #expireOutputs}.</li>
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
 *
 * <h2>Parts</h2>
 * This class is the facade: {@link SimulatorSettings} (settings), {@link PredictionBook} (predictions and
 * counters), {@link FaultDispatcher} (fault injection), {@link CreateRoutes}, {@link ReadRoutes} and
 * {@link FileRoutes} (the routes), {@link PredictionLifecycle} with {@link SimTimers} and {@link WebhookSender}
 * (what happens after a create). It is development and test tooling: the production build never mounts it
 * ({@link DevSimulator} exists in the {@code dev} build profile only).
 */
public class ReplicateSimulator implements AutoCloseable {

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

    private static final long BODY_LIMIT = 1024 * 1024;

    private final Vertx vertx;
    private final SimulatorSettings settings;
    private final PredictionBook book = new PredictionBook();
    private final SimTimers timers;
    private final OutputFiles files;
    private final WebhookSender webhooks;
    private final FaultDispatcher dispatcher;
    private final PredictionLifecycle lifecycle;
    private final CreateRoutes creates;
    private final ReadRoutes reads;
    private final FileRoutes fileRoutes;
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
        this.settings = new SimulatorSettings(publicBaseUrl, Objects.requireNonNull(delay));
        this.timers = new SimTimers(vertx);
        this.files = new OutputFiles(vertx, 64L * 1024 * 1024);
        Ids ids = new Ids();
        this.webhooks = new WebhookSender(vertx, settings, book, timers, ids);
        this.dispatcher = new FaultDispatcher(vertx, settings);
        this.lifecycle = new PredictionLifecycle(settings, book, timers, webhooks, files);
        RequestChecks checks = new RequestChecks(settings);
        this.creates = new CreateRoutes(vertx, settings, book, lifecycle, files, checks, ids);
        this.reads = new ReadRoutes(settings, book, lifecycle, checks);
        this.fileRoutes = new FileRoutes(settings, book, lifecycle, files);
    }

    // ---------------------------------------------------------------- mounting and serving

    /**
     * Adds the simulator's routes to {@code router}, under {@code prefix} ({@code ""} or {@code "/sim"};
     * a trailing slash is ignored). Adds no catch-all, so the rest of the router is unaffected.
     */
    public void mount(Router router, String prefix) {
        String p = prefix == null ? "" : SimulatorSettings.stripSlash(prefix.trim());
        if (!p.isEmpty() && !p.startsWith("/")) {
            p = "/" + p;
        }
        settings.prefix = p;
        BodyHandler body = BodyHandler.create(false).setBodyLimit(BODY_LIMIT);
        router.post(p + "/v1/models/:owner/:name/predictions").handler(body)
                .handler(dispatcher.handler(Route.CREATE, creates::createOfficial));
        router.post(p + "/v1/predictions").handler(body)
                .handler(dispatcher.handler(Route.CREATE, creates::createWithVersion));
        router.get(p + "/v1/predictions").handler(dispatcher.handler(Route.LIST, reads::list));
        router.get(p + "/v1/predictions/:id").handler(dispatcher.handler(Route.GET, reads::get));
        router.post(p + "/v1/predictions/:id/cancel").handler(body)
                .handler(dispatcher.handler(Route.CANCEL, reads::cancel));
        router.get(p + "/v1/webhooks/default/secret").handler(dispatcher.handler(Route.WEBHOOK_SECRET, reads::secret));
        router.get(p + "/files/:id/:file").handler(dispatcher.handler(Route.FILE, fileRoutes::file));
        router.head(p + "/files/:id/:file").handler(dispatcher.handler(Route.FILE, fileRoutes::file));
    }

    /**
     * Serves the simulator alone (mounted at {@code ""}) on {@code host:port} ({@code 0} for a random port),
     * answering 404 to anything else. If no public base URL was given, it becomes {@code http://host:port}.
     */
    public Future<HttpServer> listen(String host, int port) {
        Router router = Router.router(vertx);
        mount(router, "");
        router.route().last().handler(ctx -> RequestChecks.notFound(ctx, false));
        return vertx.createHttpServer(new HttpServerOptions().setHost(host).setPort(port))
                .requestHandler(router)
                .listen()
                .map(s -> {
                    server = s;
                    if (settings.publicBaseUrl == null) {
                        settings.publicBaseUrl = "http://" + host + ":" + s.actualPort();
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
        timers.cancelAll();
        dispatcher.releaseHung();
        HttpServer s = server;
        Future<Void> closed = s == null ? Future.succeededFuture() : s.close();
        return closed.transform(ignored -> webhooks.close());
    }

    // ---------------------------------------------------------------- settings (fluent, thread-safe)

    public ReplicateSimulator interceptor(SimulatorInterceptor interceptor) {
        settings.interceptor = interceptor == null ? SimulatorInterceptor.NONE : interceptor;
        return this;
    }

    /** The base clients use, without prefix and trailing slash. */
    public ReplicateSimulator publicBaseUrl(String url) {
        settings.publicBaseUrl = SimulatorSettings.stripSlash(url);
        return this;
    }

    /** How long new predictions take from creation to completion. */
    public ReplicateSimulator delay(Duration delay) {
        settings.delay = Objects.requireNonNull(delay);
        return this;
    }

    /** The {@code owner/name}s served by the official-model route (replaces the set). */
    public ReplicateSimulator officialModels(Collection<String> models) {
        settings.officialModels = Set.copyOf(models);
        return this;
    }

    /** Adds a known version id and the model it belongs to. */
    public ReplicateSimulator knownVersion(String versionId, String model) {
        settings.knownVersions.put(versionId, model);
        return this;
    }

    /** Whether an unknown (but well-formed) 64-hex version is accepted (default true). */
    public ReplicateSimulator acceptAnyVersion(boolean accept) {
        settings.acceptAnyVersion = accept;
        return this;
    }

    /** Which bearer tokens are valid (default: any non-blank one). */
    public ReplicateSimulator acceptTokens(Predicate<String> check) {
        settings.tokenCheck = Objects.requireNonNull(check);
        return this;
    }

    /** The {@code whsec_…} secret webhooks are signed with (a random one by default). */
    public ReplicateSimulator webhookSecret(String secret) {
        settings.webhookSecret(Objects.requireNonNull(secret));
        return this;
    }

    /** Delays between retries of a terminal webhook; its size is the number of retries (default 1, 3, 8, 16, 32 s). */
    public ReplicateSimulator webhookRetryBackoff(List<Duration> backoff) {
        settings.webhookRetryBackoff = List.copyOf(backoff);
        return this;
    }

    /** Connect and idle timeout of one webhook delivery (default 10 s). */
    public ReplicateSimulator webhookTimeout(Duration timeout) {
        settings.webhookTimeout = Objects.requireNonNull(timeout);
        return this;
    }

    /** How many predictions are kept; the oldest are forgotten first (default 10,000). */
    public ReplicateSimulator maxPredictions(int max) {
        settings.maxPredictions = Math.max(1, max);
        return this;
    }

    /** Memory bound of the rendered-file cache (default 64 MiB). */
    public ReplicateSimulator fileCacheBytes(long bytes) {
        files.maxBytes(bytes);
        return this;
    }

    /** How long outputs of succeeded predictions stay available; null or zero keeps them (default 1 hour). */
    public ReplicateSimulator outputRetention(Duration retention) {
        settings.outputRetention = retention;
        return this;
    }

    public String webhookSecret() {
        return settings.webhookSecret();
    }

    public Duration delay() {
        return settings.delay;
    }

    /** The mount prefix in use ({@code ""} when served alone). */
    public String prefix() {
        return settings.prefix;
    }

    /** The public base URL, or null while it is still to be derived. */
    public String publicBaseUrl() {
        return settings.publicBaseUrl;
    }

    public Vertx vertx() {
        return vertx;
    }

    // ---------------------------------------------------------------- state and counters

    /** The prediction as {@code GET} would answer it, if known. */
    public Optional<JsonObject> prediction(String id) {
        SimPrediction p = book.find(id);
        return p == null ? Optional.empty() : Optional.of(p.toJson(true));
    }

    /** Ids of the known predictions, oldest first. */
    public List<String> predictionIds() {
        return book.ids();
    }

    /**
     * Removes a prediction's output as retention does: {@code data_removed:true}, {@code output:null},
     * file downloads 404.
     *
     * @return false when the id is unknown or the output was already removed
     */
    public boolean expireOutputs(String id) {
        return lifecycle.expireOutputs(id);
    }

    /**
     * The bytes of output file {@code index} of a prediction (rendered on a worker thread, then cached),
     * even before the prediction has finished. Fails when the prediction or file does not exist.
     */
    public Future<byte[]> outputBytes(String id, int index) {
        SimPrediction p = book.find(id);
        if (p == null || !p.hasFile(index)) {
            return Future.failedFuture(new IllegalArgumentException("no output " + index + " for prediction " + id));
        }
        return files.bytes(p, index, lifecycle::keepFiles);
    }

    /** Requests to {@code route}, including faulted and refused ones. */
    public int calls(Route route) {
        return dispatcher.calls(route);
    }

    /** Predictions created (answered 201). */
    public int createCount() {
        return book.creates();
    }

    /** Successful {@code GET}s of one prediction. */
    public int getCount(String id) {
        SimPrediction p = book.find(id);
        return p == null ? 0 : p.gets.get();
    }

    /** Cancel calls for one prediction (including those on terminal predictions). */
    public int cancelCount(String id) {
        SimPrediction p = book.find(id);
        return p == null ? 0 : p.cancels.get();
    }

    /** Predictions currently {@code starting} or {@code processing}. */
    public int running() {
        return book.running();
    }

    /** The most predictions ever {@code starting} or {@code processing} at once since the last reset. */
    public int maxRunning() {
        return book.maxRunning();
    }

    /** Zeroes the counters (route calls, creates, max running); predictions are kept. */
    public void resetCounters() {
        dispatcher.resetCalls();
        book.resetCounters();
    }

    /** Forgets every prediction and file, stops pending timers, releases hung requests, zeroes counters. */
    public void reset() {
        book.clear();
        timers.cancelAll();
        dispatcher.releaseHung();
        files.clear();
        dispatcher.resetCalls();
    }

    /** {@code 90}, {@code 90s}, {@code 5m}, {@code 1h30m45s}; null when malformed. */
    static Duration parseCancelAfter(String value) {
        return CreateRoutes.parseCancelAfter(value);
    }
}
