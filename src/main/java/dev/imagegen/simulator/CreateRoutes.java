package dev.imagegen.simulator;

import static dev.imagegen.simulator.Responses.problem;
import static dev.imagegen.simulator.Responses.rateLimitHeaders;
import static dev.imagegen.simulator.Responses.send;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jboss.logging.Logger;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/**
 * {@code POST /v1/models/{owner}/{name}/predictions} and {@code POST /v1/predictions}: validates the model or
 * version, the input, {@code Prefer}, {@code Cancel-After} and the webhook settings, books the prediction, starts
 * its lifecycle and answers 201, held up to {@code Prefer: wait=N} seconds for a terminal status.
 */
final class CreateRoutes {

    private static final Logger LOG = Logger.getLogger(CreateRoutes.class);

    private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern OWNER_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*");
    private static final Pattern PREFER = Pattern.compile("^wait(=([1-9]|[1-9][0-9]|60))?$");
    private static final Pattern CANCEL_AFTER = Pattern.compile("^(?:(\\d+)h)?(?:(\\d+)m)?(?:(\\d+)s)?$");
    private static final Duration MIN_CANCEL_AFTER = Duration.ofSeconds(5);

    private final Vertx vertx;
    private final SimulatorSettings settings;
    private final PredictionBook book;
    private final PredictionLifecycle lifecycle;
    private final OutputFiles files;
    private final RequestChecks checks;
    private final Ids ids;

    CreateRoutes(Vertx vertx, SimulatorSettings settings, PredictionBook book, PredictionLifecycle lifecycle,
            OutputFiles files, RequestChecks checks, Ids ids) {
        this.vertx = vertx;
        this.settings = settings;
        this.book = book;
        this.lifecycle = lifecycle;
        this.files = files;
        this.checks = checks;
        this.ids = ids;
    }

    void createOfficial(RoutingContext ctx) {
        if (!checks.authorized(ctx, Route.CREATE)) {
            return;
        }
        String model = ctx.pathParam("owner") + "/" + ctx.pathParam("name");
        if (!settings.officialModels.contains(model)) {
            RequestChecks.notFound(ctx, true);
            return;
        }
        JsonObject body = checks.jsonBody(ctx, Route.CREATE);
        if (body != null) {
            create(ctx, body, model, officialVersion(model));
        }
    }

    void createWithVersion(RoutingContext ctx) {
        if (!checks.authorized(ctx, Route.CREATE)) {
            return;
        }
        JsonObject body = checks.jsonBody(ctx, Route.CREATE);
        if (body == null) {
            return;
        }
        Object raw = body.getValue("version");
        if (!(raw instanceof String version) || version.isBlank()) {
            RequestChecks.inputInvalid(ctx, List.of(new JsonObject().put("type", "required").put("field", "(root)")
                    .put("description", "version is required")));
            return;
        }
        String[] modelAndVersion = resolveVersion(version);
        if (modelAndVersion == null) {
            send(ctx, 422, Responses.PROBLEM_JSON, new JsonObject()
                    .put("title", "Invalid version or not permitted")
                    .put("detail", "The specified version does not exist (or perhaps you don't have permission to use it?)")
                    .put("status", 422));
            return;
        }
        create(ctx, body, modelAndVersion[0], modelAndVersion[1]);
    }

    /** {@code [model, versionId]} for a 64-hex id, {@code owner/name:<64-hex>} or an official model; else null. */
    private String[] resolveVersion(String version) {
        if (HEX64.matcher(version).matches()) {
            String model = settings.knownVersions.get(version);
            if (model == null && settings.acceptAnyVersion) {
                model = ReplicateSimulator.UNKNOWN_VERSION_MODEL;
            }
            return model == null ? null : new String[] { model, version };
        }
        if (version.indexOf(':') > 0) {
            String name = version.substring(0, version.indexOf(':'));
            String versionId = version.substring(version.indexOf(':') + 1);
            boolean known = name.equals(settings.knownVersions.get(versionId));
            boolean ok = OWNER_NAME.matcher(name).matches() && HEX64.matcher(versionId).matches()
                    && (known || settings.acceptAnyVersion);
            return ok ? new String[] { name, versionId } : null;
        }
        if (settings.officialModels.contains(version)) {
            return new String[] { version, officialVersion(version) };
        }
        return null;
    }

    private void create(RoutingContext ctx, JsonObject body, String model, String version) {
        String prefer = ctx.request().getHeader("Prefer");
        int waitSeconds = 0;
        if (prefer != null) {
            Matcher m = PREFER.matcher(prefer.trim());
            // The schema's pattern lets 61..99 through; the documented range is 1..60.
            if (!m.matches() || (m.group(2) != null && Integer.parseInt(m.group(2)) > 60)) {
                send(ctx, 400, Responses.PROBLEM_JSON, problem("Bad Request",
                        "Prefer must be \"wait\" or \"wait=N\" with N from 1 to 60", 400));
                return;
            }
            waitSeconds = m.group(2) == null ? 60 : Integer.parseInt(m.group(2));
        }
        Duration cancelAfter = null;
        String cancelAfterHeader = ctx.request().getHeader("Cancel-After");
        if (cancelAfterHeader != null) {
            cancelAfter = parseCancelAfter(cancelAfterHeader.trim());
            if (cancelAfter == null || cancelAfter.compareTo(MIN_CANCEL_AFTER) < 0) {
                send(ctx, 400, Responses.PROBLEM_JSON, problem("Bad Request",
                        "Cancel-After must be a duration of at least 5s, such as 30, 90s or 1h30m", 400));
                return;
            }
        }
        List<JsonObject> errors = new ArrayList<>(ModelInputs.validate(model, body));
        String webhook = webhookUrl(body, errors);
        JsonArray filter = webhookEventsFilter(body, errors);
        if (!errors.isEmpty()) {
            RequestChecks.inputInvalid(ctx, errors);
            return;
        }
        JsonObject input = body.getJsonObject("input").copy();
        long seed = input.getValue("seed") instanceof Number n ? n.longValue() : ThreadLocalRandom.current().nextInt(0, Integer.MAX_VALUE);
        int[] size = ModelInputs.size(model, input, ReplicateSimulator.MAX_RENDER_SIDE);
        SimPrediction p = new SimPrediction(ids.next(), model, version, input, seed, size[0], size[1], checks.apiBase(ctx),
                webhook, filter, cancelAfter, book.epoch());
        book.add(p, settings.maxPredictions).forEach(files::forget);

        PredictionPlan plan = PredictionPlan.succeedAfter(settings.delay);
        try {
            plan = Objects.requireNonNullElse(settings.interceptor.plan(p.id, model, input.copy(), plan), plan);
        } catch (RuntimeException e) {
            LOG.warnf(e, "Simulator interceptor failed to plan %s", p.id);
        }
        lifecycle.begin(p, plan, cancelAfter);
        respondCreated(ctx, p, waitSeconds, prefer == null ? null : prefer.trim());
    }

    private static String webhookUrl(JsonObject body, List<JsonObject> errors) {
        Object w = body.getValue("webhook");
        if (w == null) {
            return null;
        }
        if (w instanceof String s && validWebhookUrl(s)) {
            return s;
        }
        errors.add(new JsonObject().put("type", "format").put("field", "webhook").put("description", "Does not match format 'uri'"));
        return null;
    }

    private static JsonArray webhookEventsFilter(JsonObject body, List<JsonObject> errors) {
        Object raw = body.getValue("webhook_events_filter");
        if (raw == null) {
            return null;
        }
        if (raw instanceof JsonArray a && a.stream().allMatch(e -> e instanceof String && SimPrediction.ALL_EVENTS.contains(e))) {
            return a.copy();
        }
        errors.add(new JsonObject().put("type", "enum").put("field", "webhook_events_filter")
                .put("description", "webhook_events_filter must be a list of \"start\", \"output\", \"logs\", \"completed\""));
        return null;
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

    private static void sendCreated(RoutingContext ctx, SimPrediction p, String preferApplied) {
        if (ctx.response().closed() || ctx.response().ended()) {
            return;
        }
        if (preferApplied != null) {
            ctx.response().putHeader("Preference-Applied", preferApplied);
        }
        rateLimitHeaders(ctx, Route.CREATE);
        send(ctx, 201, Responses.JSON, p.toJson(false));
    }

    private static boolean validWebhookUrl(String url) {
        try {
            URI u = new URI(url);
            return ("https".equalsIgnoreCase(u.getScheme()) || "http".equalsIgnoreCase(u.getScheme())) && u.getHost() != null;
        } catch (Exception e) {
            return false;
        }
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
}
