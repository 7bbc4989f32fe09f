package dev.imagegen.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.awaitility.Awaitility;
import org.jboss.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import dev.imagegen.testsupport.FakeReplicate;
import dev.imagegen.testsupport.Tokens;

/**
 * Case 5 of the fault suite: a transaction held open beside the queue (the classic dead-tuple trap: while it
 * holds its snapshot, vacuum can remove none of the row versions the queue leaves behind) under a steady
 * enqueue rate. Claim latency (enqueue to claim, by the database's clock) and throughput are measured before,
 * during and after it; the service's answer is the gauge {@code imagegen_db_oldest_transaction_seconds}, the
 * ImagegenLongTransaction alert on it, and a log warning once the transaction passes 5 minutes.
 */
class LongTransactionIT {

    private static final Logger LOG = Logger.getLogger(LongTransactionIT.class);
    private static final int RATE_PER_SECOND = 10;

    private FakeReplicate fake;
    private FaultDatabase db;
    private final List<PackagedService> started = new ArrayList<>();
    private final String run = UUID.randomUUID().toString().substring(0, 8);

    @BeforeEach
    void start() {
        fake = FakeReplicate.start(Duration.ofMillis(300));
        db = new FaultDatabase();
    }

    @AfterEach
    void stop() {
        started.forEach(PackagedService::close);
        fake.close();
        db.close();
    }

    /** 5 s warm-up, 10 s before, a transaction held 20 s, 10 s after: short enough for every verify. */
    @Test
    void transactionHeldTwentySecondsShowsInTheGaugeAndLosesNothing() throws Exception {
        runCase(Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(20), Duration.ofSeconds(10), false);
    }

    /** The case as the issue states it: 20 s warm-up, 1 min before, a transaction held 5 min (and 10 s), 1 min after. */
    @Test
    @Tag("faults-long")
    void transactionHeldFiveMinutesUnderSteadyLoad() throws Exception {
        // 5 min 10 s: the log warns past 5 min, at the gauge's next refresh (2 s here).
        runCase(Duration.ofSeconds(20), Duration.ofMinutes(1), Duration.ofSeconds(310), Duration.ofMinutes(1), true);
    }

    /** {@code warmUp} of load first (a fresh JVM claims slowly while it compiles), not measured. */
    private void runCase(Duration warmUp, Duration before, Duration during, Duration after, boolean expectWarning) throws Exception {
        Map<String, String> env = FaultKit.env(db.env(), fake, db.name, 20);
        env.put("IMAGEGEN_METRICS_TRANSACTION_REFRESH_INTERVAL", "2s");
        env.put("IMAGEGEN_WORKER_LEASE", "10s");
        // The load offers 10 creates a second; paced at 97 % of Replicate's 600 a minute (9.7 a second) the
        // backlog grew through the whole case and claim latency measured the pacer, not the held transaction
        // (2026-12-05 16:29: p95 46 s during and 48 s after the hold). Pacing is not what this case tests.
        env.put("IMAGEGEN_REPLICATE_CREATES_PER_MINUTE", "6000");
        PackagedService service = PackagedService.start(env, "longtx-" + during.toSeconds() + "s");
        started.add(service);

        AtomicBoolean loading = new AtomicBoolean(true);
        AtomicInteger sent = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        Thread load = steadyLoad(service, loading, sent, refused);

        Thread.sleep(warmUp.toMillis());
        double t0 = dbNow();
        Thread.sleep(before.toMillis());
        double t1 = dbNow();
        long deadBefore = deadTuples();
        long blocksBefore = pendingScanBlocks();
        double gaugeBefore = FaultKit.metric(FaultKit.scrape(service), "imagegen_db_oldest_transaction_seconds");
        double gaugeDuring;
        long deadDuring;
        long blocksDuring;
        double t2;
        try (Connection held = db.connect()) {
            held.setAutoCommit(false);
            try (Statement s = held.createStatement(); ResultSet rs = s.executeQuery("SELECT txid_current()")) {
                rs.next();
            }
            // idle in transaction from here on, with an xid: it holds back every table's vacuum horizon
            Thread.sleep(during.toMillis());
            t2 = dbNow();
            gaugeDuring = FaultKit.metric(FaultKit.scrape(service), "imagegen_db_oldest_transaction_seconds");
            deadDuring = deadTuples();
            blocksDuring = pendingScanBlocks();
            held.rollback();
        }
        Thread.sleep(after.toMillis());
        double t3 = dbNow();
        loading.set(false);
        load.join(10_000);
        Awaitility.await("the gauge drops once the transaction ended").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500))
                .until(() -> FaultKit.metric(FaultKit.scrape(service), "imagegen_db_oldest_transaction_seconds") < 5);
        long deadAfter = deadTuples();
        long blocksAfter = pendingScanBlocks();
        // Autovacuum may or may not have run by now; a manual VACUUM shows what the held transaction kept.
        try (Connection c = db.connect(); Statement s = c.createStatement()) {
            s.execute("VACUUM job_queue");
        }
        long blocksVacuumed = pendingScanBlocks();
        Awaitility.await("the queue drains").atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500))
                .until(() -> db.number("SELECT count(*) FROM job_queue WHERE status <> 'completed'") == 0);

        String phases = String.format(Locale.ROOT, "before %s; during %s; after %s", window(t0, t1), window(t1, t2), window(t2, t3));
        LOG.infof("FAULT longtx (%d s held, %d/s offered, %d sent, %d refused): %s; oldest-transaction gauge before %.1f s, at the "
                + "end of the hold %.1f s; job_queue n_dead_tup before %d, end of hold %d, after %d; buffers read by a scan of the pending jobs before %d, end of "
                + "hold %d, after %d, after VACUUM %d; warning logged %s",
                during.toSeconds(), RATE_PER_SECOND, sent.get(), refused.get(), phases, gaugeBefore, gaugeDuring,
                deadBefore, deadDuring, deadAfter, blocksBefore, blocksDuring, blocksAfter, blocksVacuumed,
                service.logText().contains("A transaction has been open"));

        assertEquals(0, refused.get(), "an enqueue was not answered 202");
        assertEquals(sent.get(), db.number("SELECT count(*) FROM job_queue WHERE status = 'completed'"), "every job completed");
        assertEquals(sent.get(), fake.createCount(), "one prediction per job");
        assertTrue(gaugeBefore < 5, "no long transaction before: " + gaugeBefore);
        assertTrue(gaugeDuring >= during.toSeconds() - 5, "the gauge shows the held transaction: " + gaugeDuring);
        if (expectWarning) {
            assertTrue(service.logText().contains("A transaction has been open"), "no warning in the log");
        }
    }

    /** {@value #RATE_PER_SECOND} enqueues a second, round-robin over 5 users, until {@code loading} turns false. */
    private Thread steadyLoad(PackagedService service, AtomicBoolean loading, AtomicInteger sent, AtomicInteger refused) {
        Thread t = new Thread(() -> {
            List<CompletableFuture<Void>> pending = new ArrayList<>();
            long next = System.nanoTime();
            int i = 0;
            while (loading.get()) {
                String user = Tokens.user("longtx-" + run + "-" + (i % 5));
                String prompt = "a lighthouse " + i++;
                sent.incrementAndGet();
                pending.add(CompletableFuture.runAsync(() -> {
                    try {
                        HttpResponse<String> r = FaultKit.enqueueOne(service, user, prompt);
                        if (r.statusCode() != 202) {
                            refused.incrementAndGet();
                        }
                    } catch (Exception e) {
                        refused.incrementAndGet();
                    }
                }));
                next += 1_000_000_000L / RATE_PER_SECOND;
                long sleep = (next - System.nanoTime()) / 1_000_000;
                if (sleep > 0) {
                    try {
                        Thread.sleep(sleep);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
            pending.forEach(CompletableFuture::join);
        }, "steady-load");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** Claim latency (enqueue to claim, database clock) of the jobs enqueued in [from, to), and completions per second. */
    private String window(double from, double to) {
        String range = "to_timestamp(" + from + ") AND to_timestamp(" + to + ")";
        List<String[]> r = db.rows("SELECT count(*), "
                + "round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at)) * 1000)::numeric), "
                + "round((percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at)) * 1000)::numeric), "
                + "round((max(extract(epoch FROM started_at - created_at)) * 1000)::numeric) "
                + "FROM job_queue WHERE started_at IS NOT NULL AND created_at >= to_timestamp(" + from + ") AND created_at < to_timestamp(" + to + ")");
        long done = db.number("SELECT count(*) FROM job_queue WHERE completed_at BETWEEN " + range);
        String[] w = r.get(0);
        return String.format(Locale.ROOT, "%s jobs, claim p50 %s ms p95 %s ms max %s ms, %.1f completed/s", w[0], w[1], w[2], w[3],
                done / (to - from));
    }

    private double dbNow() {
        return db.number("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint") / 1000.0;
    }

    /** Shared buffers (hit + read) one scan of the pending jobs' partial index touches: dead entries cost buffers too. */
    private long pendingScanBlocks() {
        String plan = String.join("\n", db.rows("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT count(*) FROM job_queue "
                + "WHERE status = 'pending'").get(0));
        Matcher hit = Pattern.compile("\"Shared Hit Blocks\": (\\d+)").matcher(plan);
        Matcher read = Pattern.compile("\"Shared Read Blocks\": (\\d+)").matcher(plan);
        return (hit.find() ? Long.parseLong(hit.group(1)) : 0) + (read.find() ? Long.parseLong(read.group(1)) : 0);
    }

    private long deadTuples() {
        return db.number("SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables WHERE relname = 'job_queue'");
    }
}
