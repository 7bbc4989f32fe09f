package dev.imagegen.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.imagegen.testsupport.FakeReplicate;
import dev.imagegen.testsupport.Tokens;

/** What the fault cases of ReplicasIT, DatabaseRestartIT and LongTransactionIT share: env, enqueue, metrics. */
final class FaultKit {

    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private FaultKit() {
    }

    /** The packaged service's environment for a database ({@code dbEnv}) and the fake, with short leases. */
    static Map<String, String> env(Map<String, String> dbEnv, FakeReplicate fake, String storageName, int parallel) {
        Map<String, String> env = new HashMap<>(dbEnv);
        env.put("REPLICATE_API_TOKEN", FakeReplicate.TEST_TOKEN);
        env.put("IMAGEGEN_REPLICATE_BASE_URL", fake.baseUrl());
        env.put("IMAGEGEN_REPLICATE_ALLOWED_OUTPUT_HOSTS", "127.0.0.1");
        env.put("IMAGEGEN_REPLICATE_POLL_INITIAL_INTERVAL", "100ms");
        env.put("IMAGEGEN_REPLICATE_POLL_MAX_INTERVAL", "300ms");
        env.put("IMAGEGEN_AUTH_JWT_SECRET", Tokens.SECRET);
        env.put("IMAGEGEN_STORAGE_DIR", "target/faults/images-" + storageName);
        env.put("IMAGEGEN_LIMITS_MAX_ACTIVE_PER_USER", "0");
        env.put("IMAGEGEN_LIMITS_ENQUEUE_PER_MINUTE", "0");
        env.put("IMAGEGEN_WORKER_MAX_PARALLEL_JOBS", Integer.toString(parallel));
        env.put("IMAGEGEN_WORKER_LEASE", "3s");
        env.put("IMAGEGEN_WORKER_HEARTBEAT_INTERVAL", "1s");
        env.put("IMAGEGEN_WORKER_RESCUE_INTERVAL", "1s");
        env.put("IMAGEGEN_WORKER_POLL_INTERVAL", "1s");
        env.put("IMAGEGEN_WORKER_SHUTDOWN_GRACE", "2s");
        env.put("QUARKUS_DATASOURCE_REACTIVE_MAX_SIZE", "20");
        return env;
    }

    /**
     * Enqueues {@code n} generations ({@code prompt + " " + (first + i)}), at most {@code concurrency} requests at a
     * time, round-robin over {@code services}; each must answer 202.
     */
    static void enqueue(List<PackagedService> services, String user, int first, int n, String prompt, int concurrency) {
        for (int start = 0; start < n; start += concurrency) {
            List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
            for (int i = start; i < Math.min(n, start + concurrency); i++) {
                PackagedService s = services.get(i % services.size());
                answers.add(HTTP.sendAsync(enqueueRequest(s, user, prompt + " " + (first + i)), HttpResponse.BodyHandlers.ofString()));
            }
            for (CompletableFuture<HttpResponse<String>> a : answers) {
                HttpResponse<String> r = a.join();
                assertEquals(202, r.statusCode(), r.body());
            }
        }
    }

    /** One enqueue; answers the response (202 expected) without checking it. */
    static HttpResponse<String> enqueueOne(PackagedService s, String user, String prompt) throws Exception {
        return HTTP.send(enqueueRequest(s, user, prompt), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpRequest enqueueRequest(PackagedService s, String user, String prompt) {
        return HttpRequest.newBuilder(URI.create(s.baseUrl() + "/v1/generations"))
                .timeout(Duration.ofSeconds(20))
                .header("Authorization", Tokens.bearer(user)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"" + prompt + "\",\"width\":256,\"height\":256}"))
                .build();
    }

    /** The Prometheus scrape of a service ({@code /q/metrics}), or "" when it does not answer. */
    static String scrape(PackagedService s) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create(s.baseUrl() + "/q/metrics")).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (Exception e) {
            return "";
        }
    }

    /** The value of one series (exact name with labels, e.g. {@code imagegen_jobs_claimed_total}) in a scrape, or -1. */
    static double metric(String scrape, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + "(\\{[^}]*\\})? ([-0-9.eE+NaInf]+)$").matcher(scrape);
        return m.find() ? Double.parseDouble(m.group(2)) : -1;
    }

    /** The readiness body of a service, or "" when nothing answers. */
    static String readyBody(PackagedService s) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create(s.baseUrl() + "/q/health/ready")).timeout(Duration.ofSeconds(4)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (Exception e) {
            return "";
        }
    }
}
