package dev.imagegen.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.awaitility.Awaitility;
import org.jboss.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.imagegen.testsupport.FakeReplicate;

/**
 * Case 8: load with the worker running. First the maximum is measured in the same run: the enqueue rate
 * (16 clients in a closed loop for 8 s) and the worker's completion rate while that backlog drains; the
 * sustainable maximum is the lower of the two. Then generations are enqueued open-loop at 80 % of it for
 * 60 s while jobs complete (latency counted from each request's scheduled time, so a stall is not hidden):
 * every answer must be 202, p50/p99 are logged, and the queue must drain afterwards.
 */
@Tag("faults-long")
class LoadIT {

    private static final Logger LOG = Logger.getLogger(LoadIT.class);
    private static final Duration STEADY = Duration.ofSeconds(Long.getLong("load.seconds", 60));

    private FakeReplicate fake;
    private FaultDatabase db;
    private PackagedService service;

    @BeforeEach
    void start() {
        fake = FakeReplicate.start(Duration.ofMillis(100));
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
    void eightyPercentOfTheMaximumForSixtySecondsAnswersEveryRequestAndDrains() throws Exception {
        Map<String, String> env = FaultCase.env(db, fake, 32, "target/faults/images-" + db.name);
        service = PackagedService.start(env, "load", PackagedService.pickPort(), java -> java);
        String user = FaultCase.user("load");

        // --- 1. The maximum: closed-loop enqueues, then the drain of that backlog.
        AtomicInteger accepted = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        long t0 = System.nanoTime();
        long stopAt = t0 + TimeUnit.SECONDS.toNanos(8);
        List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < 16; c++) {
            int client = c;
            Thread t = new Thread(() -> {
                for (int i = 0; System.nanoTime() < stopAt && i < 400; i++) {
                    HttpResponse<String> r = FaultCase.enqueue(service, user, "max " + client + " " + i).join();
                    (r.statusCode() == 202 ? accepted : refused).incrementAndGet();
                }
            });
            t.start();
            clients.add(t);
        }
        for (Thread t : clients) {
            t.join(30_000);
        }
        double enqueueSeconds = (System.nanoTime() - t0) / 1e9;
        double enqueueMax = accepted.get() / enqueueSeconds;
        long doneAtEnqueueEnd = completed();
        long drainStart = System.nanoTime();
        Awaitility.await("the backlog drains").atMost(Duration.ofMinutes(4)).pollInterval(Duration.ofMillis(250))
                .until(() -> unfinished() == 0);
        double workerMax = (accepted.get() - doneAtEnqueueEnd) / ((System.nanoTime() - drainStart) / 1e9);
        double max = Math.min(enqueueMax, workerMax);
        double rate = 0.8 * max;
        assertEquals(0, refused.get(), "an enqueue was refused while measuring");

        // --- 2. 80 % of it, open loop, for STEADY.
        List<Long> latenciesMicros = Collections.synchronizedList(new ArrayList<>());
        Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
        List<String> errors = new CopyOnWriteArrayList<>();
        List<CompletableFuture<?>> inFlight = new ArrayList<>();
        long periodNanos = (long) (1e9 / rate);
        long total = (long) (rate * STEADY.toSeconds());
        long doneBefore = completed();
        long steadyStart = System.nanoTime();
        long maxQueue = 0;
        for (long i = 0; i < total; i++) {
            long scheduled = steadyStart + i * periodNanos;
            long wait = scheduled - System.nanoTime();
            if (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(wait);
            }
            CompletableFuture<?> f = FaultCase.enqueue(service, user, "steady " + i).handle((r, e) -> {
                latenciesMicros.add((System.nanoTime() - scheduled) / 1000);
                if (e != null) {
                    errors.add(String.valueOf(e));
                } else {
                    statuses.computeIfAbsent(r.statusCode(), k -> new AtomicInteger()).incrementAndGet();
                    if (r.statusCode() != 202) {
                        errors.add(r.statusCode() + " " + r.body());
                    }
                }
                return null;
            });
            inFlight.add(f);
            if (i % Math.max(1, (long) rate) == 0) {
                maxQueue = Math.max(maxQueue, db.number("SELECT count(*) FROM job_queue WHERE status = 'pending'"));
            }
        }
        CompletableFuture.allOf(inFlight.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        double steadySeconds = (System.nanoTime() - steadyStart) / 1e9;
        long completedDuring = completed() - doneBefore;
        long drainFrom = System.nanoTime();
        Awaitility.await("the queue drains after the steady load").atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(250))
                .until(() -> unfinished() == 0);
        double drainSeconds = (System.nanoTime() - drainFrom) / 1e9;

        List<Long> sorted = new ArrayList<>(latenciesMicros);
        Collections.sort(sorted);
        double p50 = sorted.get((int) (sorted.size() * 0.50)) / 1000.0;
        double p99 = sorted.get(Math.min(sorted.size() - 1, (int) (sorted.size() * 0.99))) / 1000.0;
        double pMax = sorted.get(sorted.size() - 1) / 1000.0;
        LOG.infof("FAULT load: max enqueue %.0f/s (%d in %.1f s, 16 clients), worker %.0f jobs/s -> max %.0f/s; steady %.0f/s "
                + "for %.1f s: %d sent, statuses %s, errors %d; latency p50 %.1f ms p99 %.1f ms max %.1f ms; %d completed during, "
                + "peak pending %d; drained %.1f s after; failed %d", enqueueMax, accepted.get(), enqueueSeconds, workerMax, max,
                rate, steadySeconds, total, statuses, errors.size(), p50, p99, pMax, completedDuring, maxQueue, drainSeconds,
                db.number("SELECT count(*) FROM job_queue WHERE status = 'failed'"));
        assertTrue(errors.isEmpty(), "error answers: " + errors.subList(0, Math.min(10, errors.size())));
        assertEquals(total, statuses.getOrDefault(202, new AtomicInteger()).get());
        assertEquals(0, db.number("SELECT count(*) FROM job_queue WHERE status = 'failed'"));
        assertEquals(accepted.get() + total, completed());
    }

    private long completed() {
        return db.number("SELECT count(*) FROM job_queue WHERE status = 'completed'");
    }

    private long unfinished() {
        return db.number("SELECT count(*) FROM job_queue WHERE status IN ('pending','processing')");
    }
}
