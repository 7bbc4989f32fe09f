package dev.imagegen.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

import org.awaitility.Awaitility;
import org.jboss.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.imagegen.testsupport.FakeReplicate;
import dev.imagegen.testsupport.Tokens;

/**
 * Faults of the packaged service, run as separate processes (PackagedService) against a real PostgreSQL
 * (a database of each case's own) and the Replicate fake over real HTTP in this JVM. Each case is bounded by
 * Awaitility's atMost and kills what it started, by PID, whatever happens.
 */
class FaultsIT {

    private static final Logger LOG = Logger.getLogger(FaultsIT.class);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final Duration GRACE = Duration.ofSeconds(6);
    private static final Duration DELAY = Duration.ofSeconds(5);

    private FakeReplicate fake;
    private FaultDatabase db;
    private final List<PackagedService> started = new ArrayList<>();
    private final String user = Tokens.user("faults-" + UUID.randomUUID());

    @BeforeEach
    void start() {
        fake = FakeReplicate.start(Duration.ofSeconds(1));
        db = new FaultDatabase();
    }

    @AfterEach
    void stop() {
        started.forEach(PackagedService::close);
        fake.close();
        db.close();
    }

    /**
     * kill -9 with 200 generations queued or running, then a restart: every generation ends completed with one
     * image, no job stays processing, and Replicate saw no more creates than attempts were claimed.
     */
    @Test
    void killNineWithTwoHundredInFlightThenRestartCompletesEachExactlyOnce() throws Exception {
        PackagedService first = service("kill9-first", 50);
        enqueue(first, 200, "a lighthouse");
        Awaitility.await("some done, many running").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                .until(() -> completedJobs() >= 20 && db.number("SELECT count(*) FROM job_queue WHERE status = 'processing'") >= 20);
        long processingAtKill = db.number("SELECT count(*) FROM job_queue WHERE status = 'processing'");
        long completedAtKill = completedJobs();
        first.kill9();

        long restart = System.nanoTime();
        PackagedService second = service("kill9-second", 50);
        Awaitility.await("all 200 completed after the restart").atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200))
                .until(() -> db.number("SELECT count(*) FROM image_generations WHERE status = 'completed'") == 200);
        double restartToDone = (System.nanoTime() - restart) / 1e9;

        assertEquals(200, completedJobs());
        assertEquals(0, db.number("SELECT count(*) FROM job_queue WHERE status <> 'completed'"));
        assertEquals(200, db.number("SELECT count(*) FROM images"), "one image per generation");
        assertEquals(200, db.number("SELECT count(DISTINCT generation_id) FROM images"));
        long attempts = db.number("SELECT sum(attempt_number) FROM job_queue");
        int creates = fake.createCount();
        LOG.infof("FAULT kill9: at kill %d processing, %d completed; after restart all 200 completed in %.1f s; "
                + "attempts=%d creates=%d", processingAtKill, completedAtKill, restartToDone, attempts, creates);
        assertTrue(creates >= 200 && creates <= attempts, "creates " + creates + " vs attempts " + attempts);
        assertTrue(second.alive());
    }

    /**
     * SIGTERM with 100 jobs in flight (90 that finish in seconds, their downloads dripping, and 10 whose
     * predictions never end): readiness goes DOWN while the service still answers, nothing new is claimed,
     * the 90 complete, the 10 go back to pending without spending an attempt, and the process exits within
     * the shutdown delay plus the grace period plus 5 s.
     */
    @Test
    void sigtermWithHundredInFlightDrainsOrReleasesWithinGrace() throws Exception {
        fake.stallPredictionsWithPrompt("stalls").dripDownloads(8, Duration.ofMillis(250));
        PackagedService service = service("sigterm", 100);
        enqueue(service, 90, "a lighthouse");
        enqueue(service, 10, "a lighthouse that stalls");
        Awaitility.await("all 100 claimed, downloads under way").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
                .until(() -> db.number("SELECT count(*) FROM job_queue WHERE status = 'processing'") == 100 - completedJobs()
                        && fake.dripRequests() >= 5);
        long completedAtTerm = completedJobs();
        long term = System.nanoTime();
        service.term();

        Awaitility.await("readiness DOWN while the service still answers").atMost(DELAY)
                .pollInterval(Duration.ofMillis(50)).until(() -> service.readyStatus() == 503);
        enqueue(service, 1, "late");
        Integer exit = service.waitExit(DELAY.plus(GRACE).plusSeconds(5));
        double toExit = (System.nanoTime() - term) / 1e9;
        assertNotNull(exit, "still running " + toExit + " s after SIGTERM");

        String log = service.logText();
        long failed = db.number("SELECT count(*) FROM job_queue WHERE status = 'failed'");
        long pending = db.number("SELECT count(*) FROM job_queue WHERE status = 'pending'");
        long completed = completedJobs();
        LOG.infof("FAULT sigterm: %d completed before SIGTERM, %d at exit; %d back to pending; %d failed; exit %d after %.1f s",
                completedAtTerm, completed, pending, failed, exit, toExit);
        assertFalse(log.contains("could not connect to the output host"), "downloads failed in the grace period:\n" + log);
        assertEquals(0, failed);
        assertEquals(0, db.number("SELECT count(*) FROM job_queue WHERE status = 'processing'"));
        assertEquals(0, db.number("SELECT count(*) FROM job_queue WHERE status <> 'completed' AND attempt_number > 0"),
                "a job returned to the queue spent an attempt");
        assertEquals(90, db.number("SELECT count(*) FROM job_queue j JOIN image_generations g ON g.id = j.generation_id "
                + "WHERE j.status = 'completed' AND g.prompt NOT LIKE '%stalls%'"), "the quick ones finish within the grace");
        assertEquals(11, pending, "the stalled ones, and the one enqueued after SIGTERM, wait in the queue");
    }

    private PackagedService service(String name, int parallel) throws Exception {
        Map<String, String> env = new HashMap<>(db.env());
        env.put("REPLICATE_API_TOKEN", FakeReplicate.TEST_TOKEN);
        env.put("IMAGEGEN_REPLICATE_BASE_URL", fake.baseUrl());
        env.put("IMAGEGEN_REPLICATE_ALLOWED_OUTPUT_HOSTS", "127.0.0.1");
        // Creates paced at Replicate's 600 a minute would take 10 s for 100 jobs, so the last "quick" ones of
        // the SIGTERM case were created late and missed the grace (CI, 88 of 90); pacing is not under test here.
        env.put("IMAGEGEN_REPLICATE_CREATES_PER_MINUTE", "6000");
        env.put("IMAGEGEN_REPLICATE_POLL_INITIAL_INTERVAL", "100ms");
        env.put("IMAGEGEN_REPLICATE_POLL_MAX_INTERVAL", "300ms");
        env.put("IMAGEGEN_AUTH_JWT_SECRET", Tokens.SECRET);
        env.put("IMAGEGEN_STORAGE_DIR", "target/faults/images-" + db.name);
        env.put("IMAGEGEN_LIMITS_MAX_ACTIVE_PER_USER", "0");
        env.put("IMAGEGEN_LIMITS_ENQUEUE_PER_MINUTE", "0");
        env.put("IMAGEGEN_WORKER_MAX_PARALLEL_JOBS", Integer.toString(parallel));
        env.put("IMAGEGEN_WORKER_LEASE", "4s");
        env.put("IMAGEGEN_WORKER_HEARTBEAT_INTERVAL", "1s");
        env.put("IMAGEGEN_WORKER_RESCUE_INTERVAL", "1s");
        env.put("IMAGEGEN_WORKER_POLL_INTERVAL", "1s");
        env.put("IMAGEGEN_WORKER_SHUTDOWN_GRACE", GRACE.toSeconds() + "s");
        env.put("QUARKUS_SHUTDOWN_DELAY", DELAY.toSeconds() + "s");
        env.put("QUARKUS_DATASOURCE_REACTIVE_MAX_SIZE", "20");
        PackagedService s = PackagedService.start(env, name);
        started.add(s);
        return s;
    }

    private long completedJobs() {
        return db.number("SELECT count(*) FROM job_queue WHERE status = 'completed'");
    }

    /** Enqueues {@code n} generations over HTTP, all at once; each must answer 202. */
    private void enqueue(PackagedService service, int n, String prompt) {
        List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            HttpRequest request = HttpRequest.newBuilder(URI.create(service.baseUrl() + "/v1/generations"))
                    .timeout(Duration.ofSeconds(20))
                    .header("Authorization", Tokens.bearer(user)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"" + prompt + " " + i + "\",\"width\":256,\"height\":256}"))
                    .build();
            answers.add(HTTP.sendAsync(request, HttpResponse.BodyHandlers.ofString()));
        }
        for (CompletableFuture<HttpResponse<String>> a : answers) {
            HttpResponse<String> r = a.join();
            assertEquals(202, r.statusCode(), r.body());
        }
    }
}
