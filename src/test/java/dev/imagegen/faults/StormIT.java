package dev.imagegen.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

import org.awaitility.Awaitility;
import org.jboss.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.imagegen.replicate.CreateMarker;
import dev.imagegen.testsupport.FakeReplicate;
import io.vertx.core.json.JsonObject;

/**
 * Case 6, a Replicate fault storm, against the packaged service in webhook mode: 30 % of the calls to the
 * API and to the file server answer 429, 500, 503, hang, reset, lose a create's answer, or deliver a
 * truncated or expired download, and 30 % of the webhook messages are dropped or doubled, and 30 % held
 * back up to 3 s (late, out of order). Every generation must end completed or failed, with a message a user
 * can read, within {@link #BOUND} of the last enqueue; none stays pending or processing; and no job attempt
 * has two predictions at Replicate (each prediction carries its attempt's marker in its webhook URL).
 * Takes 60-80 s on the shared 2-core machine: tagged {@code faults-long} (runs with {@code -Pfaults}).
 */
@Tag("faults-long")
class StormIT {

    private static final Logger LOG = Logger.getLogger(StormIT.class);
    static final int GENERATIONS = 120;
    static final double RATE = 0.30;
    /** Prediction timeout 20 s, request timeout 3 s, 3 attempts with backoff up to 2 s: far under this. */
    static final Duration BOUND = Duration.ofSeconds(150);

    private FakeReplicate fake;
    private FaultDatabase db;
    private PackagedService service;

    @BeforeEach
    void start() {
        fake = FakeReplicate.start(Duration.ofMillis(500));
        db = new FaultDatabase();
    }

    @AfterEach
    void stop() {
        if (service != null) {
            service.close();
        }
        fake.close();
        db.close();
    }

    /** Stored images whose file is a whole PNG (ends with IEND) with the size and SHA-256 recorded. */
    long wholeFiles(String root) throws Exception {
        long whole = 0;
        for (String row : db.strings("SELECT generation_id || '/' || output_index || ' ' || size_bytes || ' ' || sha256 FROM images")) {
            String[] f = row.split(" ");
            byte[] bytes = java.nio.file.Files.readAllBytes(java.nio.file.Path.of(root, "generations", f[0]));
            String sha = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
            boolean iend = bytes.length > 12 && new String(bytes, bytes.length - 8, 4, java.nio.charset.StandardCharsets.ISO_8859_1).equals("IEND");
            if (bytes.length == Long.parseLong(f[1]) && sha.equals(f[2]) && iend) {
                whole++;
            } else {
                LOG.errorf("partial file %s: %d bytes, recorded %s", f[0], bytes.length, f[1]);
            }
        }
        return whole;
    }

    @Test
    void everyGenerationEndsCompletedOrFailedReadablyAndNoAttemptPaysTwice() throws Exception {
        int port = PackagedService.pickPort();
        Map<String, String> env = FaultCase.env(db, fake, 24, "target/faults/images-" + db.name);
        FaultCase.webhookMode(env, fake, port, Duration.ofSeconds(4));
        env.put("IMAGEGEN_REPLICATE_REQUEST_TIMEOUT", "3s");
        env.put("IMAGEGEN_REPLICATE_PREDICTION_TIMEOUT", "20s");
        env.put("IMAGEGEN_DOWNLOAD_READ_TIMEOUT", "3s");
        service = PackagedService.start(env, "storm", port, java -> java);
        fake.storm(RATE, 12, Duration.ofSeconds(3));

        String user = FaultCase.user("storm");
        List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
        for (int i = 0; i < GENERATIONS; i++) {
            answers.add(FaultCase.enqueue(service, user, "a storm " + i));
            Thread.sleep(20);
        }
        for (CompletableFuture<HttpResponse<String>> a : answers) {
            HttpResponse<String> r = a.join();
            assertEquals(202, r.statusCode(), r.body());
        }
        long enqueued = System.nanoTime();
        Awaitility.await("every generation completed or failed").atMost(BOUND).pollInterval(Duration.ofMillis(500))
                .until(() -> db.number("SELECT count(*) FROM image_generations WHERE status IN ('completed','failed')") == GENERATIONS);
        double toAllDone = (System.nanoTime() - enqueued) / 1e9;
        Map<String, Integer> injected = fake.stormCounts();
        fake.storm(0, 0, null);

        long completed = db.number("SELECT count(*) FROM image_generations WHERE status = 'completed'");
        long failed = db.number("SELECT count(*) FROM image_generations WHERE status = 'failed'");
        assertEquals(0, db.number("SELECT count(*) FROM job_queue WHERE status IN ('pending','processing')"), "a job is stuck");
        assertEquals(completed, db.number("SELECT count(*) FROM images"), "one image per completed generation");
        assertEquals(0, db.number("SELECT count(*) FROM images i JOIN image_generations g ON g.id = i.generation_id "
                + "WHERE g.status <> 'completed'"), "a failed generation kept an image");

        // Failed ones say why, in words: in the database and as the API shows them.
        Map<String, Integer> messages = new TreeMap<>();
        for (String m : db.strings("SELECT error_message FROM image_generations WHERE status = 'failed'")) {
            assertTrue(FaultCase.readable(m), "not a message a user can read: " + m);
            messages.merge(m, 1, Integer::sum);
        }
        for (String id : db.strings("SELECT id FROM image_generations WHERE status = 'failed' LIMIT 5")) {
            HttpResponse<String> r = FaultCase.get(service, user, "/v1/generations/" + id);
            assertEquals(200, r.statusCode(), r.body());
            JsonObject view = new JsonObject(r.body());
            assertEquals("failed", view.getString("status"), r.body());
            assertTrue(r.body().contains("error"), r.body());
        }
        // Every stored file is whole: its recorded size is the size of a rendered 256x256 PNG, and it is served.
        for (String id : db.strings("SELECT generation_id FROM images LIMIT 5")) {
            HttpResponse<String> r = FaultCase.get(service, user, "/v1/generations/" + id);
            assertEquals(200, r.statusCode(), r.body());
        }
        assertEquals(completed, wholeFiles("target/faults/images-" + db.name), "a stored file is partial");

        // No attempt paid for two predictions.
        Map<String, Integer> perAttempt = new HashMap<>();
        int unmarked = 0;
        for (String pid : fake.predictionIds()) {
            String webhook = fake.prediction(pid).map(p -> p.getString("webhook")).orElse(null);
            var marker = CreateMarker.of(webhook);
            if (marker.isEmpty()) {
                unmarked++;
                continue;
            }
            perAttempt.merge(marker.get().jobId() + "#" + marker.get().attempt(), 1, Integer::sum);
        }
        List<String> twice = perAttempt.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList();
        long attempts = db.number("SELECT sum(attempt_number) FROM job_queue");
        LOG.infof("FAULT storm: %d generations, rate %.0f%%: %d completed, %d failed, all done %.1f s after the last enqueue; "
                + "predictions %d for %d attempts (%d attempts with a prediction, %d unmarked, %d with two); injected %s; "
                + "failure messages %s", GENERATIONS, RATE * 100, completed, failed, toAllDone, fake.predictionIds().size(), attempts,
                perAttempt.size(), unmarked, twice.size(), injected, messages);
        assertEquals(0, unmarked, "every create carries its attempt's marker");
        assertTrue(twice.isEmpty(), "attempts that paid for two predictions: " + twice);
        assertTrue(injected.values().stream().mapToInt(Integer::intValue).sum() > GENERATIONS / 2, "the storm hardly blew: " + injected);
        assertTrue(completed > 0, "nothing completed under a 30 % storm");
        assertTrue(service.alive());
    }
}
