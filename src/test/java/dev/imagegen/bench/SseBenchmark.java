package dev.imagegen.bench;

import static dev.imagegen.testsupport.Tokens.bearer;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.URL;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;

import dev.imagegen.generation.GenerationEvents;
import dev.imagegen.testsupport.Db;
import dev.imagegen.testsupport.Tokens;

/**
 * Many SSE subscribers on one replica: {@code bench.subscribers} streams (default 1,000) over
 * {@code bench.subscribers / bench.per-generation} generations, three status changes driven by plain SQL
 * (one statement each, as another replica would), every subscriber checked for every change; reports heap
 * (after GC) and PostgreSQL connections. Not part of the default test run (its name matches no surefire
 * include); see {@code benchmarks/sse/README.md}.
 */
@QuarkusTest
@Tag("bench")
class SseBenchmark {

    static final int SUBSCRIBERS = Integer.getInteger("bench.subscribers", 1000);
    static final int PER_GENERATION = Integer.getInteger("bench.per-generation", 1);
    /** Connections opened at a time: the request loop stays bounded. */
    static final int OPEN_BATCH = Integer.getInteger("bench.open-batch", 100);
    static final Duration WAIT = Duration.ofMinutes(2);

    static final List<String> STEPS = List.of("processing", "downloading", "completed");

    @Inject
    Pool pool;

    @Inject
    GenerationEvents events;

    @TestHTTPResource("/")
    URL base;

    /**
     * The subscribers' side: a Vert.x HTTP client on a Vert.x instance of its own (one event loop), so that
     * the heap figures are mostly the server's (its buffers are pooled direct memory, not heap).
     */
    static final Vertx CLIENT_VERTX = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));

    final HttpClient http = CLIENT_VERTX.createHttpClient(
            new HttpClientOptions().setKeepAlive(false).setConnectTimeout(10_000),
            new PoolOptions().setHttp1MaxSize(SUBSCRIBERS + OPEN_BATCH));

    @AfterAll
    static void stopClient() {
        CLIENT_VERTX.close();
    }

    @Test
    void thousandSubscribersOneReplica() {
        Db.clean(pool);
        String userId = "bench-" + UUID.randomUUID();
        // An operator: exempt from the per-user stream cap (imagegen.limits.max-streams-per-user), which 1000 would pass.
        String token = bearer(Tokens.operator());
        int generations = Math.max(1, SUBSCRIBERS / PER_GENERATION);
        List<UUID> ids = new ArrayList<>();
        Db.query(pool, """
                WITH g AS (
                    INSERT INTO image_generations (user_id, prompt, model_id, parameters, status)
                    SELECT $1, 'bench ' || n, 'black-forest-labs/flux-schnell',
                           '{"width":512,"height":512,"num_outputs":1}', 'queued'
                      FROM generate_series(1, $2) n
                    RETURNING id)
                INSERT INTO job_queue (job_type, payload, generation_id, run_at)
                SELECT 'generate_image', jsonb_build_object('generation_id', g.id), g.id, now() + interval '1 hour' FROM g
                RETURNING generation_id""", userId, generations).forEach(r -> ids.add(r.getUUID(0)));

        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        long heapBefore = heapAfterGc(memory);
        long connectionsBefore = pgConnections();

        List<Stream> clients = new ArrayList<>(SUBSCRIBERS);
        long roundsStart = events.readRounds();
        long cpuStart = cpu();
        long openStart = System.nanoTime();
        for (int i = 0; i < SUBSCRIBERS; i += OPEN_BATCH) {
            List<Stream> batch = new ArrayList<>();
            for (int j = i; j < Math.min(SUBSCRIBERS, i + OPEN_BATCH); j++) {
                UUID id = ids.get(j % generations);
                batch.add(Stream.open(http, base.getPort(), "/v1/generations/" + id + "/events", token));
            }
            await().atMost(WAIT).until(() -> batch.stream().allMatch(c -> c.events() > 0 || c.ended()));
            clients.addAll(batch);
        }
        long openMillis = (System.nanoTime() - openStart) / 1_000_000;
        long openCpu = (cpu() - cpuStart) / 1_000_000;
        long openRounds = events.readRounds() - roundsStart;
        assertTrue(clients.stream().noneMatch(Stream::ended), "every stream is open");
        assertTrue(clients.stream().allMatch(c -> c.status() == 200), "every stream answered 200");
        assertEquals(SUBSCRIBERS, events.followerCount());

        long heapOpen = heapAfterGc(memory);
        long connectionsOpen = pgConnections();

        List<Long> stepMillis = new ArrayList<>();
        long stepsCpuStart = cpu();
        long stepsRoundsStart = events.readRounds();
        for (int step = 0; step < STEPS.size(); step++) {
            int expected = step + 2;
            long t0 = System.nanoTime();
            switch (STEPS.get(step)) {
                case "processing" -> Db.exec(pool,
                        "UPDATE image_generations SET status = 'processing', started_at = now() WHERE user_id = $1", userId);
                case "downloading" -> Db.exec(pool, """
                        UPDATE image_generations SET status = 'downloading', replicate_prediction_id = 'bench-' || id
                         WHERE user_id = $1""", userId);
                default -> Db.exec(pool,
                        "UPDATE image_generations SET status = 'completed', completed_at = now() WHERE user_id = $1", userId);
            }
            await().atMost(WAIT).pollInterval(Duration.ofMillis(20))
                    .until(() -> clients.stream().allMatch(c -> c.events() >= expected));
            stepMillis.add((System.nanoTime() - t0) / 1_000_000);
        }
        await().atMost(WAIT).until(() -> clients.stream().allMatch(Stream::ended));
        long stepsCpu = (cpu() - stepsCpuStart) / 1_000_000;
        long stepsRounds = events.readRounds() - stepsRoundsStart;
        long connectionsDuring = connectionsOpen;

        int complete = 0;
        for (Stream c : clients) {
            assertEquals(List.of("queued", "processing", "downloading", "completed"), c.statuses());
            assertFalse(c.failed());
            complete++;
        }
        await().atMost(WAIT).until(() -> events.followerCount() == 0);
        clients.clear();
        long heapAfter = heapAfterGc(memory);
        long connectionsAfter = pgConnections();

        String report = String.format(Locale.ROOT, """
                SSE benchmark: %d subscribers over %d generation(s) (%d per generation), %d cores, max heap %d MiB
                  all streams open and first event received in %d ms (opened %d at a time); process CPU %d ms; %d read rounds
                  status change -> all %d subscribers (processing, downloading, completed): %s ms; process CPU %d ms; %d read rounds
                  subscribers that received every change and a clean end: %d / %d
                  heap used after GC: before %.1f MiB, %d streams open %.1f MiB (+%.1f MiB, %.1f KiB per stream; the client's objects included), after %.1f MiB
                  PostgreSQL connections (pg_stat_activity, this database): before %d, streams open %d, after %d
                """, SUBSCRIBERS, generations, PER_GENERATION, Runtime.getRuntime().availableProcessors(),
                Runtime.getRuntime().maxMemory() >> 20, openMillis, OPEN_BATCH, openCpu, openRounds, SUBSCRIBERS, stepMillis,
                stepsCpu, stepsRounds, complete,
                SUBSCRIBERS, mib(heapBefore), SUBSCRIBERS, mib(heapOpen), mib(heapOpen - heapBefore),
                (heapOpen - heapBefore) / 1024.0 / SUBSCRIBERS, mib(heapAfter), connectionsBefore, connectionsDuring,
                connectionsAfter);
        System.out.println(report);
        assertEquals(SUBSCRIBERS, complete);
    }

    /** CPU time of this whole process (server, client and GC), in nanoseconds. */
    static long cpu() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    long pgConnections() {
        return Db.count(pool, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()");
    }

    static long heapAfterGc(MemoryMXBean memory) {
        for (int i = 0; i < 3; i++) {
            memory.gc();
        }
        return memory.getHeapMemoryUsage().getUsed();
    }

    static double mib(long bytes) {
        return bytes / 1024.0 / 1024.0;
    }

    /** One SSE subscription: counts events and keeps each one's status; parses frames as they arrive. */
    static final class Stream {

        private final List<String> statuses = new ArrayList<>();
        private final StringBuilder pending = new StringBuilder();
        private volatile int status = -1;
        private volatile int events;
        private volatile boolean ended;
        private volatile boolean failed;

        static Stream open(HttpClient http, int port, String path, String authorization) {
            Stream s = new Stream();
            http.request(HttpMethod.GET, port, "localhost", path)
                    .compose(req -> req.putHeader("Authorization", authorization)
                            .putHeader("Accept", "text/event-stream").send())
                    .onSuccess(resp -> {
                        s.status = resp.statusCode();
                        resp.handler(s::feed);
                        resp.exceptionHandler(e -> s.fail());
                        resp.endHandler(v -> s.ended = true);
                    })
                    .onFailure(e -> s.fail());
            return s;
        }

        private void fail() {
            failed = true;
            ended = true;
        }

        /** Only the client's event loop calls this. */
        private void feed(Buffer chunk) {
            pending.append(chunk.toString());
            int end;
            while ((end = pending.indexOf("\n\n")) >= 0) {
                String frame = pending.substring(0, end);
                pending.delete(0, end + 2);
                for (String line : frame.split("\n")) {
                    if (line.startsWith("data:")) {
                        synchronized (statuses) {
                            statuses.add(new JsonObject(line.substring(5).trim()).getString("status"));
                        }
                        events++;
                    }
                }
            }
        }

        int status() {
            return status;
        }

        int events() {
            return events;
        }

        boolean ended() {
            return ended;
        }

        boolean failed() {
            return failed;
        }

        List<String> statuses() {
            synchronized (statuses) {
                return List.copyOf(statuses);
            }
        }
    }
}
