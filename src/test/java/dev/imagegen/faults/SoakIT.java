package dev.imagegen.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.awaitility.Awaitility;
import org.jboss.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import dev.imagegen.replicate.CreateMarker;
import dev.imagegen.testsupport.FakeReplicate;
import dev.imagegen.testsupport.Tokens;
import io.vertx.core.json.JsonObject;

/**
 * Case 9, the soak: {@code -Dsoak.minutes=N} minutes of steady work (4 generations a second, every fifth
 * followed on its event stream) on the packaged service in webhook mode, under a low fault storm (5 % of calls
 * and webhook messages) and with every service connection to PostgreSQL killed ({@code pg_terminate_backend})
 * once a minute. Every 30 s, after a full GC ({@code jcmd PID GC.run}), it samples the live heap, RSS, open
 * file descriptors, the service's database connections and the open-streams gauge. At the end (load stopped,
 * queue drained) each must be back near its level after the first minute: heap and RSS within 25 % + 16 MiB,
 * fds within 20, database connections no more than the pool plus the listener, no stream open. Also: every
 * generation ended, none stuck, no attempt paid twice, and every enqueue answered 202 (each carries an
 * {@code Idempotency-Key}; one whose database connection was killed under it answers 503 with
 * {@code Retry-After} and is sent again with the same key: never a 500).
 *
 * <p>Only with {@code -Dsoak.minutes}: {@code ./mvnw verify -Pfaults -Dit.test=SoakIT -Dsoak.minutes=30}.
 */
@Tag("faults-long")
@EnabledIfSystemProperty(named = "soak.minutes", matches = "[1-9][0-9]*")
class SoakIT {

    private static final Logger LOG = Logger.getLogger(SoakIT.class);
    private static final double RATE_PER_SECOND = 4;
    private static final int POOL = 10;

    private FakeReplicate fake;
    private FaultDatabase db;
    private PackagedService service;

    record Sample(double minute, double heapMib, double rssMib, long fds, long dbConnections, double streams, long pending) {
    }

    @BeforeEach
    void start() {
        fake = FakeReplicate.start(Duration.ofMillis(300));
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

    @Test
    void resourcesStayFlatThroughConnectionKillsAndALowStorm() throws Exception {
        int minutes = Integer.getInteger("soak.minutes");
        int port = PackagedService.pickPort();
        Map<String, String> env = FaultCase.env(db, fake, 16, "target/faults/images-" + db.name);
        FaultCase.webhookMode(env, fake, port, Duration.ofSeconds(5));
        env.put("IMAGEGEN_REPLICATE_REQUEST_TIMEOUT", "3s");
        env.put("IMAGEGEN_REPLICATE_PREDICTION_TIMEOUT", "30s");
        env.put("IMAGEGEN_DOWNLOAD_READ_TIMEOUT", "3s");
        env.put("QUARKUS_DATASOURCE_REACTIVE_MAX_SIZE", Integer.toString(POOL));
        service = PackagedService.start(env, "soak", port, java -> java);
        fake.storm(0.05, 9, Duration.ofSeconds(2));
        String user = Tokens.user("soak-" + java.util.UUID.randomUUID());

        List<Sample> samples = new ArrayList<>();
        Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
        AtomicInteger retried503 = new AtomicInteger();
        AtomicInteger streamsOpened = new AtomicInteger();
        AtomicInteger streamsEnded = new AtomicInteger();
        AtomicInteger streamsFailed = new AtomicInteger();
        List<CompletableFuture<?>> pendingCalls = new ArrayList<>();
        int kills = 0;
        int killed = 0;
        long start = System.nanoTime();
        long end = start + TimeUnit.MINUTES.toNanos(minutes);
        long nextSample = start + TimeUnit.SECONDS.toNanos(60);
        long nextKill = start + TimeUnit.SECONDS.toNanos(45);
        long period = (long) (1e9 / RATE_PER_SECOND);
        long sent = 0;
        while (System.nanoTime() < end) {
            long due = start + sent * period;
            long wait = due - System.nanoTime();
            if (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(wait);
            }
            boolean follow = sent % 5 == 0;
            CompletableFuture<?> call = FaultCase.enqueueRetrying(service, user, "soak " + sent, 5, retried503).thenCompose(r -> {
                statuses.computeIfAbsent(r.statusCode(), k -> new AtomicInteger()).incrementAndGet();
                if (!follow || r.statusCode() != 202) {
                    return CompletableFuture.completedFuture(null);
                }
                String id = new JsonObject(r.body()).getString("generation_id");
                streamsOpened.incrementAndGet();
                HttpRequest events = HttpRequest.newBuilder(URI.create(service.baseUrl() + "/v1/generations/" + id + "/events"))
                        .header("Authorization", Tokens.bearer(user)).header("Accept", "text/event-stream")
                        .timeout(Duration.ofMinutes(3)).GET().build();
                return FaultCase.HTTP.sendAsync(events, HttpResponse.BodyHandlers.ofLines())
                        .thenAccept(resp -> resp.body().forEach(line -> {
                        }))
                        .handle((x, e) -> (e == null ? streamsEnded : streamsFailed).incrementAndGet());
            });
            pendingCalls.add(call);
            pendingCalls.removeIf(CompletableFuture::isDone);
            sent++;
            long now = System.nanoTime();
            if (now >= nextKill) {
                killed += (int) db.number("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity "
                        + "WHERE datname = current_database() AND pid <> pg_backend_pid()) k WHERE t");
                kills++;
                nextKill = now + TimeUnit.SECONDS.toNanos(60);
            }
            if (now >= nextSample) {
                samples.add(sample((now - start) / 6e10));
                nextSample = now + TimeUnit.SECONDS.toNanos(30);
            }
        }
        double loadSeconds = (System.nanoTime() - start) / 1e9;
        fake.storm(0, 0, null);
        CompletableFuture.allOf(pendingCalls.toArray(CompletableFuture[]::new)).get(4, TimeUnit.MINUTES);
        Awaitility.await("the queue drains").atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofSeconds(1))
                .until(() -> db.number("SELECT count(*) FROM job_queue WHERE status IN ('pending','processing')") == 0);
        Awaitility.await("streams close").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(1))
                .until(() -> PackagedService.metricSum(service.metrics(), "imagegen_streams_open", "") == 0);
        TimeUnit.SECONDS.sleep(10);
        Sample last = sample((System.nanoTime() - start) / 6e10);
        samples.add(last);
        Sample base = samples.get(0);

        long completed = db.number("SELECT count(*) FROM image_generations WHERE status = 'completed'");
        long failed = db.number("SELECT count(*) FROM image_generations WHERE status = 'failed'");
        Map<String, Integer> perAttempt = new HashMap<>();
        for (String pid : fake.predictionIds()) {
            CreateMarker.of(fake.prediction(pid).map(p -> p.getString("webhook")).orElse(null))
                    .ifPresent(m -> perAttempt.merge(m.jobId() + "#" + m.attempt(), 1, Integer::sum));
        }
        long twice = perAttempt.values().stream().filter(n -> n > 1).count();
        StringBuilder table = new StringBuilder();
        for (Sample s : samples) {
            table.append(String.format("%n  min %5.1f heap %6.1f MiB rss %6.1f MiB fds %4d db %3d streams %3.0f pending %4d", s.minute(),
                    s.heapMib(), s.rssMib(), s.fds(), s.dbConnections(), s.streams(), s.pending()));
        }
        LOG.infof("FAULT soak: %d min (%.0f s of load), %d enqueued %s (%d retries after a 503), %d completed, %d failed, %d attempts with two predictions; "
                + "%d kills (%d connections); streams %d opened, %d ended, %d failed; storm %s; samples (after GC):%s", minutes, loadSeconds, sent,
                statuses, retried503.get(), completed, failed, twice, kills, killed, streamsOpened.get(), streamsEnded.get(), streamsFailed.get(), fake.stormCounts(),
                table);

        assertEquals(sent, statuses.getOrDefault(202, new AtomicInteger()).get(), "answers " + statuses);
        assertEquals(sent, completed + failed, "every generation ended");
        assertEquals(0, twice, "an attempt paid for two predictions");
        db.strings("SELECT error_message FROM image_generations WHERE status = 'failed'")
                .forEach(m -> assertTrue(FaultCase.readable(m), m));
        assertTrue(last.heapMib() <= base.heapMib() * 1.25 + 16, "live heap grew: " + table);
        assertTrue(last.rssMib() <= base.rssMib() * 1.25 + 16, "RSS grew: " + table);
        assertTrue(last.fds() <= base.fds() + 20, "file descriptors grew: " + table);
        assertTrue(last.dbConnections() <= POOL + 2, "database connections grew: " + table);
        assertEquals(0.0, last.streams(), "streams left open: " + table);
        assertEquals(streamsOpened.get(), streamsEnded.get() + streamsFailed.get());
        assertTrue(service.alive());
    }

    private Sample sample(double minute) throws Exception {
        Process gc = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                Long.toString(service.pid()), "GC.run").redirectErrorStream(true).start();
        gc.getInputStream().readAllBytes();
        gc.waitFor(30, TimeUnit.SECONDS);
        String metrics = service.metrics();
        double heap = PackagedService.metricSum(metrics, "jvm_memory_used_bytes", "area=\"heap\"") / 1048576.0;
        double streams = PackagedService.metricSum(metrics, "imagegen_streams_open", "");
        long dbConnections = db.number("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
        long pending = db.number("SELECT count(*) FROM job_queue WHERE status = 'pending'");
        Sample s = new Sample(minute, heap, service.rssKib() / 1024.0, service.openFds(), dbConnections, streams, pending);
        LOG.infof("soak sample %s", s);
        return s;
    }
}
