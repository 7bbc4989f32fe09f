package dev.imagegen.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.awaitility.Awaitility;
import org.jboss.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.vertx.core.json.JsonObject;

import dev.imagegen.testsupport.FakeReplicate;
import dev.imagegen.testsupport.Tokens;

/**
 * Case 4 of the fault suite: the database goes away under a running service, on a PostgreSQL of the test's own
 * ({@link OwnPostgres}). Two processes: {@code worker} (the only one claiming; its scheduler tick set to 60 s, so a
 * job picked up within seconds was woken by a notification) and {@code web} (worker disabled: its enqueues reach
 * the worker only through {@code NOTIFY imagegen_jobs}).
 */
class DatabaseRestartIT {

    private static final Logger LOG = Logger.getLogger(DatabaseRestartIT.class);
    private static final Pattern LISTENING = Pattern.compile("\"listening\"\\s*:\\s*true");
    /** Far above any pickup by notification; the tick is 60 s. */
    private static final Duration NOTIFY_PICKUP = Duration.ofSeconds(5);

    private FakeReplicate fake;
    private OwnPostgres pg;
    private final List<PackagedService> started = new ArrayList<>();
    private final String user = Tokens.user("dbrestart-" + UUID.randomUUID());

    @BeforeEach
    void start() throws Exception {
        fake = FakeReplicate.start(Duration.ofSeconds(3));
        pg = OwnPostgres.start();
    }

    @AfterEach
    void stop() {
        started.forEach(PackagedService::close);
        fake.close();
        pg.close();
    }

    /**
     * PostgreSQL restarted (fast shutdown, 3 s down, started again) with jobs running and an event stream open,
     * then, separately, every connection of the services killed with pg_terminate_backend: readiness goes DOWN and
     * comes back UP, LISTEN comes back (a job enqueued on the web replica afterwards is claimed within seconds
     * although the tick is 60 s), the event stream ends with the completed state (on the open stream, or on the
     * reconnect a client makes), and every generation completes exactly once.
     */
    @Test
    void restartAndTerminatedConnectionsAreSurvivedWithListenBackAndNothingLost() throws Exception {
        PackagedService worker = service("dbrestart-worker", true);
        PackagedService web = service("dbrestart-web", false);
        double baseline = notifyPickup(web, "baseline");

        // Phase 1: restart with 30 jobs queued or running (3 s predictions, 5 at a time) and a stream open.
        FaultKit.enqueue(List.of(worker), user, 0, 29, "a quay", 29);
        String followed = new JsonObject(FaultKit.enqueueOne(worker, user, "a quay followed").body()).getString("generation_id");
        List<String> events = new CopyOnWriteArrayList<>();
        AtomicBoolean streamEnded = new AtomicBoolean();
        follow(worker, followed, events, streamEnded);
        Awaitility.await("some done, some running").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                .until(() -> completed() >= 5 && pg.number("SELECT count(*) FROM job_queue WHERE status = 'processing'") >= 3);

        List<Integer> readiness = new CopyOnWriteArrayList<>();
        AtomicBoolean polling = new AtomicBoolean(true);
        List<Boolean> listening = new CopyOnWriteArrayList<>();
        Thread poller = pollReadiness(worker, readiness, listening, polling);
        long down = System.nanoTime();
        pg.stopServer();
        Thread.sleep(3_000);
        pg.startServer();
        double outage = (System.nanoTime() - down) / 1e9;
        long up = System.nanoTime();
        Awaitility.await("ready and listening again").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                .until(() -> worker.readyStatus() == 200 && LISTENING.matcher(FaultKit.readyBody(worker)).find()
                        && LISTENING.matcher(FaultKit.readyBody(web)).find());
        double readyAgain = (System.nanoTime() - up) / 1e9;
        polling.set(false);
        poller.join(5_000);
        Awaitility.await("all 30 completed after the restart").atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200))
                .until(() -> completed() == 31);
        // With the worker idle (a queued job would wait for a free slot, not for a wake-up).
        double afterRestart = notifyPickup(web, "after the restart");
        String finalState = streamOutcome(worker, followed, events, streamEnded);
        Awaitility.await("the pickup job completed").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> completed() == 32);
        boolean sawDown = readiness.stream().anyMatch(s -> s != 200);
        boolean listeningLost = listening.contains(false);
        boolean upAtEnd = !readiness.isEmpty() && readiness.get(readiness.size() - 1) == 200;

        // Phase 2: every connection of both services terminated at once.
        FaultKit.enqueue(List.of(worker), user, 100, 20, "a pier", 20);
        Awaitility.await("some running").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                .until(() -> pg.number("SELECT count(*) FROM job_queue WHERE status = 'processing'") >= 3);
        long terminated = pg.number("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                + "WHERE datname = '" + OwnPostgres.DB + "' AND pid <> pg_backend_pid()");
        Awaitility.await("listening again after the terminations").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                .until(() -> worker.readyStatus() == 200 && LISTENING.matcher(FaultKit.readyBody(worker)).find());
        Awaitility.await("all completed after the terminations").atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200))
                .until(() -> completed() == 52);
        double afterTerminate = notifyPickup(web, "after pg_terminate_backend");
        Awaitility.await("the last one completed").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> completed() == 53);

        long attempts = pg.number("SELECT sum(attempt_number) FROM job_queue");
        LOG.infof("FAULT dbrestart: enqueue-to-claim by NOTIFY (tick 60 s): %.2f s before, %.2f s after the restart, %.2f s after "
                + "terminating %d connections; outage %.1f s; ready and listening %.1f s after the start; readiness samples "
                + "%d (%d not 200, last %s; listening:false seen %s); followed stream: %s (%d lines, ended %s, "
                + "reconnect needed %s); 53 completed, attempts %d, creates %d",
                baseline, afterRestart, afterTerminate, terminated, outage, readyAgain, readiness.size(),
                readiness.stream().filter(s -> s != 200).count(), readiness.isEmpty() ? "-" : readiness.get(readiness.size() - 1),
                listeningLost,
                finalState, events.size(), streamEnded.get(), events.contains("--- reconnect"), attempts, fake.createCount());

        assertTrue(sawDown, "readiness never went DOWN while the database was away: " + readiness);
        assertTrue(upAtEnd, "readiness did not come back: " + readiness);
        assertTrue(listeningLost, "readiness never reported listening: false while the database was away: " + listening);
        assertTrue(afterRestart < NOTIFY_PICKUP.toSeconds(), "after the restart a job waited " + afterRestart + " s: LISTEN is not back");
        assertTrue(afterTerminate < NOTIFY_PICKUP.toSeconds(), "after the terminations a job waited " + afterTerminate + " s");
        assertEquals("completed", finalState, "the followed generation's stream");
        assertTrue(terminated >= 2, "terminated " + terminated);
        assertEquals(53, pg.number("SELECT count(*) FROM image_generations WHERE status = 'completed'"));
        assertEquals(53, pg.number("SELECT count(*) FROM images"), "one image per generation");
        assertEquals(0, pg.number("SELECT count(*) FROM job_queue WHERE status <> 'completed'"));
        assertEquals(53, fake.createCount(), "one prediction per generation (attempts " + attempts + ")");
        assertTrue(worker.alive() && web.alive());
    }

    /**
     * Enqueues one generation on the web replica (no worker there) and answers the seconds from its enqueue
     * to its claim by the worker replica, by the database's clock ({@code job_queue.started_at - created_at}, so
     * HTTP latency on a loaded machine does not count): only a NOTIFY received on the worker's LISTEN connection
     * wakes it before its 60 s tick.
     */
    private double notifyPickup(PackagedService web, String label) throws Exception {
        HttpResponse<String> r = FaultKit.enqueueOne(web, user, "a lantern " + label);
        assertEquals(202, r.statusCode(), r.body());
        String id = new JsonObject(r.body()).getString("generation_id");
        Awaitility.await("claimed (" + label + ")").atMost(Duration.ofSeconds(70)).pollInterval(Duration.ofMillis(25))
                .until(() -> pg.number("SELECT count(*) FROM job_queue WHERE generation_id = '" + id + "' AND started_at IS NOT NULL") == 1);
        return pg.number("SELECT (extract(epoch FROM started_at - created_at) * 1000)::bigint FROM job_queue WHERE generation_id = '"
                + id + "'") / 1000.0;
    }

    /** Reads the generation's event stream on a thread of its own, collecting its lines. */
    private void follow(PackagedService s, String id, List<String> lines, AtomicBoolean ended) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(s.baseUrl() + "/v1/generations/" + id + "/events"))
                .header("Authorization", Tokens.bearer(user)).header("Accept", "text/event-stream").build();
        FaultKit.HTTP.sendAsync(request, HttpResponse.BodyHandlers.ofLines()).thenAccept(response -> {
            try (Stream<String> body = response.body()) {
                body.forEach(lines::add);
            } catch (RuntimeException e) {
                lines.add("! " + e);
            } finally {
                ended.set(true);
            }
        });
    }

    /**
     * The followed generation's last state as a client sees it: from the open stream if it carried the terminal
     * state, else from a reconnect (whose first event is the current state).
     */
    private String streamOutcome(PackagedService s, String id, List<String> lines, AtomicBoolean ended) throws Exception {
        Awaitility.await("the stream ends or shows completed").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> ended.get() || lines.stream().anyMatch(l -> l.contains("\"completed\"")));
        if (lines.stream().anyMatch(l -> l.startsWith("data:") && l.contains("\"completed\""))) {
            return "completed";
        }
        List<String> again = new CopyOnWriteArrayList<>();
        AtomicBoolean againEnded = new AtomicBoolean();
        follow(s, id, again, againEnded);
        Awaitility.await("reconnected stream").atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100))
                .until(() -> againEnded.get() || again.stream().anyMatch(l -> l.startsWith("data:")));
        lines.add("--- reconnect");
        lines.addAll(again);
        return again.stream().anyMatch(l -> l.startsWith("data:") && l.contains("\"completed\"")) ? "completed" : "not completed: " + again;
    }

    private Thread pollReadiness(PackagedService s, List<Integer> statuses, List<Boolean> listening, AtomicBoolean polling) {
        Thread t = new Thread(() -> {
            while (polling.get()) {
                statuses.add(s.readyStatus());
                String body = FaultKit.readyBody(s);
                if (!body.isEmpty()) {
                    listening.add(LISTENING.matcher(body).find());
                }
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "readiness-poller");
        t.setDaemon(true);
        t.start();
        return t;
    }

    private PackagedService service(String name, boolean worker) throws Exception {
        Map<String, String> env = FaultKit.env(pg.env(), fake, name + "-" + pg.port, 5);
        env.put("IMAGEGEN_WORKER_ENABLED", Boolean.toString(worker));
        env.put("IMAGEGEN_WORKER_POLL_INTERVAL", "60s");
        env.put("IMAGEGEN_WORKER_LEASE", "10s");
        env.put("QUARKUS_DATASOURCE_REACTIVE_MAX_SIZE", "10");
        // Polling mode: no create marker, so a create whose prediction id could not be recorded while the
        // database was away would be paid again by the next attempt. It ran in webhook mode first and, tried in
        // polling mode, paid 58 creates for 53 jobs: the worker now retries the record across the outage and
        // releases a run that lost its connection without spending its attempt (GenerateImageHandler.save,
        // JobExecutor.release).
        PackagedService s = PackagedService.start(env, name);
        started.add(s);
        return s;
    }

    private long completed() {
        return pg.number("SELECT count(*) FROM job_queue WHERE status = 'completed'");
    }
}
