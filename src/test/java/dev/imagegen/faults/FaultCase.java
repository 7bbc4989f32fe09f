package dev.imagegen.faults;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

import dev.imagegen.testsupport.FakeReplicate;
import dev.imagegen.testsupport.Tokens;

/**
 * What the storm, storage, load and soak cases share: the packaged service's environment against a
 * {@link FaultDatabase} and a {@link FakeReplicate}, and enqueueing over HTTP.
 */
final class FaultCase {

    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private FaultCase() {
    }

    /** Short timeouts, no per-user limits, {@code parallel} jobs, a 4 s lease, fast retries. */
    static Map<String, String> env(FaultDatabase db, FakeReplicate fake, int parallel, String storageDir) {
        Map<String, String> env = new HashMap<>(db.env());
        env.put("REPLICATE_API_TOKEN", FakeReplicate.TEST_TOKEN);
        env.put("IMAGEGEN_REPLICATE_BASE_URL", fake.baseUrl());
        env.put("IMAGEGEN_REPLICATE_ALLOWED_OUTPUT_HOSTS", "127.0.0.1");
        env.put("IMAGEGEN_REPLICATE_POLL_INITIAL_INTERVAL", "100ms");
        env.put("IMAGEGEN_REPLICATE_POLL_MAX_INTERVAL", "300ms");
        env.put("IMAGEGEN_AUTH_JWT_SECRET", Tokens.SECRET);
        env.put("IMAGEGEN_STORAGE_DIR", storageDir);
        env.put("IMAGEGEN_LIMITS_MAX_ACTIVE_PER_USER", "0");
        env.put("IMAGEGEN_LIMITS_ENQUEUE_PER_MINUTE", "0");
        env.put("IMAGEGEN_WORKER_MAX_PARALLEL_JOBS", Integer.toString(parallel));
        env.put("IMAGEGEN_WORKER_LEASE", "4s");
        env.put("IMAGEGEN_WORKER_HEARTBEAT_INTERVAL", "1s");
        env.put("IMAGEGEN_WORKER_RESCUE_INTERVAL", "1s");
        env.put("IMAGEGEN_WORKER_POLL_INTERVAL", "1s");
        env.put("IMAGEGEN_RETRY_BASE_DELAY", "200ms");
        env.put("IMAGEGEN_RETRY_MAX_DELAY", "2s");
        env.put("QUARKUS_DATASOURCE_REACTIVE_MAX_SIZE", "20");
        return env;
    }

    /** Webhook mode: predictions report to {@code port}'s webhook endpoint, signed with the fake's secret. */
    static void webhookMode(Map<String, String> env, FakeReplicate fake, int port, Duration safetyPoll) {
        env.put("IMAGEGEN_REPLICATE_WEBHOOK_SECRET", fake.webhookSecret());
        env.put("IMAGEGEN_PUBLIC_BASE_URL", "http://127.0.0.1:" + port);
        env.put("IMAGEGEN_REPLICATE_WEBHOOK_SAFETY_POLL_INTERVAL", safetyPoll.toMillis() + "ms");
        env.put("IMAGEGEN_REPLICATE_PREFER_WAIT_SECONDS", "0");
    }

    static String user(String label) {
        return Tokens.user(label + "-" + UUID.randomUUID());
    }

    /** One enqueue, asynchronously. */
    static CompletableFuture<HttpResponse<String>> enqueue(PackagedService service, String user, String prompt) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(service.baseUrl() + "/v1/generations"))
                .timeout(Duration.ofSeconds(20))
                .header("Authorization", Tokens.bearer(user)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"" + prompt + "\",\"width\":256,\"height\":256}"))
                .build();
        return HTTP.sendAsync(request, HttpResponse.BodyHandlers.ofString());
    }

    /**
     * One enqueue with an {@code Idempotency-Key}; a 503 (database connection lost, readiness down) is retried
     * with the same key after its {@code Retry-After}, up to {@code retries} times, each retry counted in
     * {@code retried}.
     */
    static CompletableFuture<HttpResponse<String>> enqueueRetrying(PackagedService service, String user, String prompt, int retries,
            java.util.concurrent.atomic.AtomicInteger retried) {
        String key = UUID.randomUUID().toString();
        HttpRequest request = HttpRequest.newBuilder(URI.create(service.baseUrl() + "/v1/generations"))
                .timeout(Duration.ofSeconds(20)).header("Idempotency-Key", key)
                .header("Authorization", Tokens.bearer(user)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"" + prompt + "\",\"width\":256,\"height\":256}"))
                .build();
        return send(request, retries, retried);
    }

    private static CompletableFuture<HttpResponse<String>> send(HttpRequest request, int retries,
            java.util.concurrent.atomic.AtomicInteger retried) {
        return HTTP.sendAsync(request, HttpResponse.BodyHandlers.ofString()).thenCompose(r -> {
            if (r.statusCode() != 503 || retries <= 0) {
                return CompletableFuture.completedFuture(r);
            }
            retried.incrementAndGet();
            long wait = r.headers().firstValue("Retry-After").map(Long::parseLong).orElse(1L);
            return CompletableFuture.supplyAsync(() -> null, CompletableFuture.delayedExecutor(wait, java.util.concurrent.TimeUnit.SECONDS))
                    .thenCompose(x -> send(request, retries - 1, retried));
        });
    }

    /** GET {@code path} as {@code user}. */
    static HttpResponse<String> get(PackagedService service, String user, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(service.baseUrl() + path)).timeout(Duration.ofSeconds(20))
                .header("Authorization", Tokens.bearer(user)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /**
     * A message a user can read: said in words, not a stack trace, an exception class or a raw HTTP dump,
     * and short.
     */
    static boolean readable(String message) {
        return message != null && !message.isBlank() && message.length() <= 1200 && message.matches("(?s)[\\p{Print}\\s…’]+")
                && !message.contains("Exception") && !message.contains("\tat ") && !message.contains("java.")
                && !message.contains("io.vertx") && !message.contains("<html") && Character.isUpperCase(message.charAt(0));
    }
}
