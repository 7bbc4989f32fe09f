package dev.imagegen.replicate;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.ws.rs.core.Response;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.client.api.QuarkusRestClientProperties;

import io.quarkus.rest.client.reactive.QuarkusRestClientBuilder;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import dev.imagegen.config.ImagegenConfig;
import dev.imagegen.metrics.Metrics;
import dev.imagegen.replicate.JobException.Kind;

/**
 * The one door to Replicate. It owns the base URL and timeouts, the bearer token, the shared 429 gate,
 * and the translation of HTTP outcomes into {@link JobException}s:
 * <ul>
 * <li>429: the gate closes for every job until {@code Retry-After} (header, or the body's
 * {@code retry_after}) passes; the call waits and goes again without spending an attempt. After
 * {@link #MAX_THROTTLE_WAITS} waits it gives up with {@link Kind#THROTTLED}.</li>
 * <li>5xx, timeouts, resets, unreadable bodies: {@link Kind#TRANSIENT}.</li>
 * <li>401 (invalid or revoked token) and 402 (no credit): {@link Kind#ACCOUNT_REFUSED}; no job can
 * succeed until an operator acts, so none is failed for it. 403 is not documented by Replicate and stays
 * permanent.</li>
 * <li>Other 4xx (unknown model, invalid input): {@link Kind#PERMANENT}, with Replicate's own detail.</li>
 * </ul>
 */
@ApplicationScoped
public class ReplicateClient {

    private static final Logger LOG = Logger.getLogger(ReplicateClient.class);

    static final int MAX_THROTTLE_WAITS = 5;

    /** Pages of 100 predictions read at most while looking for a lost create. */
    static final int MAX_LIST_PAGES = 10;

    /**
     * Connections to Replicate beyond one per worker slot (cancels, lists, the webhook secret). The REST
     * client's default pool (50) was the in-flight cap: a create with {@code Prefer: wait=N} holds its
     * connection for up to N seconds, so 50 connections allowed ~50/N creates a second whatever the slots.
     */
    static final int POOL_HEADROOM = 16;

    /**
     * But no more than this: every open connection costs heap (measured: 10,000 slots let ~5,900 connections
     * open at once and the service ran out of a 256 MB heap). 1,024 connections still carry ~200 creates a
     * second with {@code Prefer: wait=5}, twenty times Replicate's default create limit.
     */
    static final int MAX_POOL = 1024;

    /** New turns a late create may take under the pacer before it goes anyway. */
    static final int MAX_PACE_RETURNS = 3;

    @Inject
    ImagegenConfig config;

    @Inject
    Metrics metrics;

    @ConfigProperty(name = "quarkus.http.port", defaultValue = "8080")
    int httpPort;

    @ConfigProperty(name = "quarkus.http.test-port", defaultValue = "8081")
    int testPort;

    private ReplicateApi api;
    private String authorization;
    private final AtomicLong gateOpensAtMillis = new AtomicLong();
    private CreatePacer createPacer;
    private int poolSize;

    @PostConstruct
    void init() {
        api = QuarkusRestClientBuilder.newBuilder()
                .baseUri(URI.create(baseUrl()))
                .connectTimeout(10, TimeUnit.SECONDS)
                .readTimeout(config.replicate().requestTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .property("microprofile.rest.client.disable.default.mapper", true)
                .property(QuarkusRestClientProperties.CONNECTION_POOL_SIZE, poolSize())
                .build(ReplicateApi.class);
        authorization = "Bearer " + config.replicate().apiToken().orElse("simulator");
        createPacer = new CreatePacer(config.replicate().createsPerMinute());
    }

    /** One connection per worker slot (each slot has at most one call to Replicate open) plus headroom, at most {@link #MAX_POOL}. */
    int poolSize() {
        if (poolSize == 0) {
            poolSize = Math.min(MAX_POOL, Math.max(50, config.worker().maxParallelJobs() + POOL_HEADROOM));
        }
        return poolSize;
    }

    /** The simulator (dev without a token) answers on this service's own port; else the configured Replicate. */
    public String baseUrl() {
        if (simulated()) {
            return "http://localhost:" + httpPort + "/simulator/replicate";
        }
        return config.replicate().baseUrl();
    }

    /** Whether the built-in simulator stands in for Replicate (dev mode without a token; never prod). */
    public boolean simulated() {
        return config.replicate().simulatorEnabled() && config.replicate().apiToken().isEmpty()
                && io.quarkus.runtime.LaunchMode.current() != io.quarkus.runtime.LaunchMode.NORMAL;
    }

    /**
     * Creates a prediction: the official-model route, or /v1/predictions with a version. With
     * {@code Prefer: wait=N} a fast model answers finished, saving the polls.
     */
    public Uni<Prediction> create(ModelCatalog.Route route, Map<String, Object> input, Optional<String> webhook) {
        JsonObject body = new JsonObject().put("input", new JsonObject(input));
        route.version().ifPresent(v -> body.put("version", v));
        webhook.ifPresent(url -> body.put("webhook", url).put("webhook_events_filter", new JsonArray().add("completed")));
        int wait = config.replicate().preferWaitSeconds();
        String prefer = wait > 0 ? "wait=" + Math.min(wait, 60) : null;
        String encoded = body.encode();
        String routeName = route.official() ? "create_model" : "create_version";
        return call(routeName, () -> route.official()
                ? api.createForModel(route.owner(), route.name(), authorization, prefer, encoded)
                : api.create(authorization, prefer, encoded),
                Duration.ofSeconds(wait))
                .map(r -> {
                    if (r.getStatus() == 404 && route.official()) {
                        throw new JobException(Kind.PERMANENT, "Replicate does not know the model " + route.owner() + "/"
                                + route.name() + " (HTTP 404). Community models need owner/name:version.");
                    }
                    return ReplicateAnswers.prediction(r, "create a prediction");
                });
    }

    /** The prediction, or empty when Replicate does not know the id (404). */
    public Uni<Optional<Prediction>> get(String id) {
        return call("get", () -> api.get(id, authorization), Duration.ZERO)
                .map(r -> r.getStatus() == 404 ? Optional.<Prediction>empty() : Optional.of(ReplicateAnswers.prediction(r, "read the prediction")));
    }

    /** Cancels a prediction; a finished or unknown one is left as it is. */
    public Uni<Void> cancel(String id) {
        return call("cancel", () -> api.cancel(id, authorization), Duration.ZERO)
                .map(r -> {
                    if (r.getStatus() >= 400 && r.getStatus() != 404 && r.getStatus() != 409) {
                        ReplicateAnswers.translate(r, "cancel the prediction");
                    }
                    return (Void) null;
                });
    }

    /**
     * The alive predictions created after {@code since} whose {@link CreateMarker} satisfies {@code wanted},
     * newest first: the way back to a prediction whose create answer was lost (a timeout or reset after
     * the request was sent). Replicate has no idempotency key, so the match is on the marker the create
     * carried in its webhook URL, never on the prompt: a prediction without a marker is never a candidate.
     * Pages through {@code next} until a page reaches back before {@code since}, there is no next page,
     * or {@link #MAX_LIST_PAGES} pages were read; each call has the request timeout.
     */
    public Uni<List<Prediction>> findCreatedSince(Instant since, Predicate<CreateMarker> wanted) {
        String after = DateTimeFormatter.ISO_INSTANT.format(since);
        return listPages(after, since, wanted, null, 0, new ArrayList<>());
    }

    private Uni<List<Prediction>> listPages(String after, Instant since, Predicate<CreateMarker> wanted, String cursor,
            int pagesRead, List<Prediction> found) {
        return call("list", () -> api.list(authorization, after, cursor), Duration.ZERO).flatMap(r -> {
            JsonObject page = ReplicateAnswers.json(r, "list predictions");
            boolean reachedBack = false;
            Object results = page.getValue("results");
            for (Object o : results instanceof JsonArray a ? a : new JsonArray()) {
                Prediction candidate = o instanceof JsonObject json ? parseLeniently(json) : null;
                if (candidate == null) {
                    continue;
                }
                if (candidate.createdAt() != null && candidate.createdAt().isBefore(since)) {
                    reachedBack = true; // newest first: the rest of the list is older still
                    continue;
                }
                // A lost create is alive or done; a dead one is an earlier attempt's, given up on purpose.
                if (!candidate.dead() && !candidate.outputsExpired() && candidate.marker().filter(wanted).isPresent()) {
                    found.add(candidate);
                }
            }
            String next = cursor(page.getValue("next"));
            if (reachedBack || next == null) {
                return Uni.createFrom().item(found);
            }
            if (pagesRead + 1 >= MAX_LIST_PAGES) {
                LOG.warnf("Stopped looking for a lost create after %d pages of predictions (window since %s not covered)",
                        MAX_LIST_PAGES, after);
                return Uni.createFrom().item(found);
            }
            return listPages(after, since, wanted, next, pagesRead + 1, found);
        });
    }

    private static Prediction parseLeniently(JsonObject json) {
        try {
            return Prediction.parse(json);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** The {@code cursor} of a page's {@code next} URL; only the cursor is followed, never the URL's host. */
    static String cursor(Object next) {
        if (!(next instanceof String url) || url.isBlank()) {
            return null;
        }
        try {
            String query = new URI(url.strip()).getRawQuery();
            for (String pair : query == null ? new String[0] : query.split("&")) {
                if (pair.startsWith("cursor=") && pair.length() > 7) {
                    return URLDecoder.decode(pair.substring(7), StandardCharsets.UTF_8);
                }
            }
        } catch (URISyntaxException | IllegalArgumentException e) {
            return null;
        }
        return null;
    }

    /** When the 429 gate opens again (epoch millis); in the past when open. */
    public long gateOpensAtMillis() {
        return gateOpensAtMillis.get();
    }

    public boolean gateClosed() {
        return gateOpensAtMillis.get() > System.currentTimeMillis();
    }

    // --- plumbing ----------------------------------------------------------------------------

    private Uni<Response> call(String route, java.util.function.Supplier<Uni<Response>> request, Duration extraWait) {
        return call(route, request, extraWait, 0);
    }

    private Uni<Response> call(String route, java.util.function.Supplier<Uni<Response>> request, Duration extraWait,
            int throttled) {
        Duration timeout = config.replicate().requestTimeout().plus(extraWait);
        return waitForGate()
                .chain(() -> route.startsWith("create") ? pace() : Uni.createFrom().voidItem())
                .chain(() -> {
                    long start = System.nanoTime();
                    return Uni.createFrom().<Response>deferred(request::get)
                            .ifNoItem().after(timeout).failWith(() -> new TimeoutException("no answer in " + timeout))
                            .onItemOrFailure().invoke((r, err) -> metrics.replicateCall(route,
                                    r != null ? String.valueOf(r.getStatus()) : "error", System.nanoTime() - start));
                })
                .onFailure(t -> !(t instanceof JobException)).transform(t -> new JobException(Kind.TRANSIENT,
                        "Replicate could not be reached (" + ReplicateAnswers.describe(t) + ").", t))
                .flatMap(r -> {
                    if (r.getStatus() != 429) {
                        return Uni.createFrom().item(r);
                    }
                    Duration wait = ReplicateAnswers.retryAfter(r);
                    closeGate(wait);
                    if (throttled + 1 >= MAX_THROTTLE_WAITS) {
                        return Uni.createFrom().failure(new JobException(Kind.THROTTLED,
                                "Replicate is throttling requests (HTTP 429).", wait, null));
                    }
                    LOG.debugf("Replicate answered 429 on %s; every call waits %s", route, wait);
                    return call(route, request, extraWait, throttled + 1);
                });
    }

    private Uni<Void> waitForGate() {
        long waitMillis = gateOpensAtMillis.get() - System.currentTimeMillis();
        if (waitMillis <= 0) {
            return Uni.createFrom().voidItem();
        }
        return Uni.createFrom().voidItem().onItem().delayIt().by(Duration.ofMillis(waitMillis + (long) (Math.random() * 50)));
    }

    /** Waits for this create's turn under {@code imagegen.replicate.creates-per-minute}. */
    private Uni<Void> pace() {
        return pace(0);
    }

    /**
     * A create whose timer fired too late ({@link #lateAfterNanos()}: a busy event loop, a starved process)
     * takes a new turn rather than going out together with the creates due after it: a bunch of late creates
     * is exactly what Replicate's bucket answers with 429. At most {@link #MAX_PACE_RETURNS} new turns.
     */
    private Uni<Void> pace(int turns) {
        long now = System.nanoTime();
        long waitNanos = createPacer.reserve(now);
        if (waitNanos <= 0) {
            return Uni.createFrom().voidItem();
        }
        long due = now + waitNanos;
        return Uni.createFrom().voidItem().onItem().delayIt().by(Duration.ofNanos(waitNanos))
                .flatMap(x -> turns < MAX_PACE_RETURNS && System.nanoTime() - due > lateAfterNanos()
                        ? pace(turns + 1)
                        : Uni.createFrom().voidItem());
    }

    /**
     * How late a paced create may go out as it is: five intervals (the bunch then fits Replicate's bucket,
     * which the 3 % headroom refills), and at least half a second. Measured: at one interval, on a starved
     * machine, so many turns were retaken that only ~65 % of the limit was used (0 % 429s).
     */
    private long lateAfterNanos() {
        return Math.max(5 * createPacer.intervalNanos(), 500_000_000L);
    }

    private void closeGate(Duration wait) {
        long until = System.currentTimeMillis() + wait.toMillis();
        gateOpensAtMillis.accumulateAndGet(until, Math::max);
        metrics.throttled(wait);
    }
}
