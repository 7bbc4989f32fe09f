package dev.imagegen.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.SqlConnection;
import io.vertx.mutiny.sqlclient.Tuple;

import dev.imagegen.queue.Job;
import dev.imagegen.queue.JobCompleter;
import dev.imagegen.queue.JobRepository;

/**
 * Queue drain throughput of the SQL core: K concurrent claimers each loop "claim a batch of B with
 * {@link JobRepository#claim} → complete every claimed job", until N seeded pending jobs are drained.
 *
 * <p>
 * Not a test: the name ends in {@code Benchmark}, so surefire's default run skips it. Run it with
 *
 * <pre>
 * ./mvnw -B -o test -Dtest=QueueDrainBenchmark -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 *
 * It runs against the test suite's own scratch database (created and dropped by the test resources), with the
 * worker disabled. Knobs, as {@code -Dbench.x=…} or environment {@code BENCH_X} (see benchmarks/queue/README.md):
 * {@code bench.jobs} (N, 50000), {@code bench.claimers} (K list, "1,4,16"), {@code bench.batches} (B list,
 * "1,32,256"), {@code bench.runs} (3), {@code bench.finished} (finished rows for the second table state, list,
 * "0,1000000"), {@code bench.modes} ("each,batch"), {@code bench.max-seconds} (cap per run, 120),
 * {@code bench.out} (TSV of every run), {@code bench.users} (U, 100: the backlog's users, which set its fair ranks),
 * {@code bench.generations} (false; true gives every job a generation, as product jobs have),
 * {@code bench.seed-cmd} (a command run once per run before the cells, printing {@code seed jobs_per_s=<rate>}: the
 * seed's own drain, so that each cell's ratio to it is computed inside one run; see benchmarks/drain/run.sh).
 *
 * <p>
 * Completion modes:
 * <ul>
 * <li>{@code each}: the product's completion statement ({@link JobRepository#completeMany}) with one job, once
 * per job, one after the other within a claimer.</li>
 * <li>{@code batch}: the same statement with all the jobs of one claim.</li>
 * <li>{@code completer}: the product path: every claimed job completed on its own through {@link JobCompleter},
 * all at once (as the worker's executors do), which gathers the completions into shared statements.</li>
 * </ul>
 */
@QuarkusTest
@TestProfile(QueueDrainBenchmark.BenchProfile.class)
class QueueDrainBenchmark {

    /** The application without its worker: only the benchmark claims. */
    public static class BenchProfile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("imagegen.worker.enabled", "false");
        }
    }

    /** The claim's row selection alone (its first CTE), for EXPLAIN. */
    static final String CLAIM_SELECT = """
            SELECT id FROM job_queue
             WHERE status = 'pending' AND run_at <= now()
             ORDER BY priority DESC, fair_rank, run_at, id
             LIMIT 32""";

    /**
     * N = $1 due pending jobs, as U = $2 users enqueueing in turn would leave them: job i is its user's
     * ((i - 1) / U)-th unfinished job, which is its fair rank.
     */
    static final String SEED_BACKLOG = """
            INSERT INTO job_queue (job_type, payload, run_at, fair_rank)
            SELECT 'noop', '{}', now() - interval '1 hour' + make_interval(secs => i / 1000.0), (i - 1) / $2
              FROM generate_series(1, $1) AS i""";

    /**
     * As {@link #SEED_BACKLOG}, each job with a queued generation of its own (as every product job has), so that
     * the claim and the completion also move generation statuses ({@code bench.generations=true}).
     */
    static final String SEED_BACKLOG_WITH_GENERATIONS = """
            WITH s AS (
                SELECT i, gen_random_uuid() AS gid FROM generate_series(1, $1) AS i
            ), g AS (
                INSERT INTO image_generations (id, user_id, prompt, model_id, parameters, status)
                SELECT gid, 'bench-' || ((i - 1) % $2), 'bench', 'bench/noop', '{}', 'queued' FROM s
            )
            INSERT INTO job_queue (job_type, payload, run_at, fair_rank, generation_id)
            SELECT 'noop', '{}', now() - interval '1 hour' + make_interval(secs => i / 1000.0), (i - 1) / $2, gid
              FROM s""";

    /** Removes the benchmark's generations (their jobs go with them). */
    static final String DELETE_BENCH_GENERATIONS = "DELETE FROM image_generations WHERE model_id = 'bench/noop'";

    static final String BENCH_FINISHED_TYPE = "bench_finished";
    static final Duration LEASE = Duration.ofMinutes(10);
    static final Duration T = Duration.ofMinutes(5);
    static final JsonObject RESULT = new JsonObject().put("bench", true);
    static final String RESULT_JSON = RESULT.encode();

    @Inject
    JobRepository jobs;

    @Inject
    JobCompleter completer;

    @Inject
    Pool pool;

    record Cell(long finishedRows, String mode, int claimers, int batch) {
    }

    record Outcome(Cell cell, int run, long jobs, long drained, double seconds, boolean capped, double claimP50, double claimP99,
            double completeP50, double completeP99, long claims, long emptyClaims, String loadBefore, String loadAfter) {
        double jobsPerSecond() {
            return drained / seconds;
        }
    }

    @Test
    void drain() throws Exception {
        int n = intSetting("bench.jobs", 50_000);
        List<Integer> claimers = intList("bench.claimers", "1,4,16");
        List<Integer> batches = intList("bench.batches", "1,32,256");
        int runs = intSetting("bench.runs", 3);
        List<Long> finishedStates = intList("bench.finished", "0,1000000").stream().map(Long::valueOf).toList();
        List<String> modes = Arrays.asList(setting("bench.modes", "each,batch").split(","));
        double maxSeconds = Double.parseDouble(setting("bench.max-seconds", "120"));
        Path out = Path.of(setting("bench.out", "target/queue-drain-" + Instant.now().toString().replace(":", "") + ".tsv"));
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, "run\tfinished_rows\tmode\tclaimers\tbatch\tjobs\tdrained\tseconds\tcapped\tjobs_per_s"
                + "\tclaim_p50_ms\tclaim_p99_ms\tcomplete_p50_ms\tcomplete_p99_ms\tclaims\tempty_claims\tloadavg_before"
                + "\tloadavg_after\n");
        log("N=%d claimers=%s batches=%s runs=%d finished=%s modes=%s cap=%.0fs out=%s", n, claimers, batches, runs,
                finishedStates, modes, maxSeconds, out);
        log("server: %s", query("SELECT version()").get(0).getString(0));

        exec("DELETE FROM job_queue");
        List<Outcome> all = new ArrayList<>();
        // Runs are interleaved (run → table state → cell) so that drift on a shared machine hits every cell alike.
        String seedCmd = setting("bench.seed-cmd", "");
        Map<Integer, Double> seedRates = new TreeMap<>();
        for (int run = 1; run <= runs; run++) {
            if (!seedCmd.isEmpty()) {
                seedRates.put(run, seedDrain(seedCmd, run));
            }
            for (long finished : finishedStates) {
                setFinishedRows(finished);
                if (run == 1) {
                    explainClaim(finished, n);
                }
                for (String mode : modes) {
                    for (int b : batches) {
                        if (!mode.equals("each") && b == 1) {
                            continue; // a batch of one is the "each" statement's work
                        }
                        for (int k : claimers) {
                            Cell cell = new Cell(finished, mode, k, b);
                            Outcome o = runOnce(cell, run, n, maxSeconds);
                            all.add(o);
                            Files.writeString(out, tsv(o), java.nio.file.StandardOpenOption.APPEND);
                            log("run %d finished=%d mode=%s K=%d B=%d: %d jobs in %.2fs%s = %.0f jobs/s, claim p50 %.2f ms"
                                    + " p99 %.2f ms, complete p50 %.2f ms, load %s → %s",
                                    run, finished, mode, k, b, o.drained(), o.seconds(), o.capped() ? " (capped)" : "",
                                    o.jobsPerSecond(), o.claimP50(), o.claimP99(), o.completeP50(), o.loadBefore(),
                                    o.loadAfter());
                        }
                    }
                }
            }
        }
        exec(DELETE_BENCH_GENERATIONS);
        exec("DELETE FROM job_queue");
        System.out.println(summary(all));
        if (!seedRates.isEmpty()) {
            System.out.println(ratios(all, seedRates));
        }
        log("raw results: %s", out.toAbsolutePath());
    }

    /** Seeds N due pending jobs, drains them with K claimers, checks that every job was completed exactly once. */
    Outcome runOnce(Cell cell, int run, int n, double maxSeconds) throws Exception {
        seedBacklog(n);
        exec("CHECKPOINT");

        String loadBefore = loadAverage();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong drained = new AtomicLong();
        AtomicLong emptyClaims = new AtomicLong();
        List<Double> claimMs = Collections.synchronizedList(new ArrayList<>());
        List<Double> completeMs = Collections.synchronizedList(new ArrayList<>());
        ExecutorService threads = Executors.newFixedThreadPool(cell.claimers());
        long start = System.nanoTime();
        long deadline = start + (long) (maxSeconds * 1e9);
        List<Future<?>> futures = new ArrayList<>();
        for (int i = 0; i < cell.claimers(); i++) {
            String owner = "bench-" + i;
            futures.add(threads.submit(() -> {
                List<Double> myClaims = new ArrayList<>();
                List<Double> myCompletes = new ArrayList<>();
                while (!stop.get()) {
                    if (System.nanoTime() > deadline) {
                        stop.set(true);
                        break;
                    }
                    long t0 = System.nanoTime();
                    List<Job> claimed = jobs.claim(owner, cell.batch(), LEASE).await().atMost(T);
                    myClaims.add((System.nanoTime() - t0) / 1e6);
                    if (claimed.isEmpty()) {
                        // Under SKIP LOCKED an empty answer means every remaining pending row is being claimed by
                        // another claimer right now: nothing is left for this one.
                        emptyClaims.incrementAndGet();
                        break;
                    }
                    long t1 = System.nanoTime();
                    if (cell.mode().equals("batch")) {
                        UUID[] ids = claimed.stream().map(Job::id).toArray(UUID[]::new);
                        String[] leases = claimed.stream().map(Job::leaseOwner).toArray(String[]::new);
                        String[] results = new String[ids.length];
                        Arrays.fill(results, RESULT_JSON);
                        int done = jobs.completeMany(ids, leases, results).await().atMost(T).size();
                        if (done != ids.length) {
                            throw new IllegalStateException("batch completion applied " + done + " of " + ids.length);
                        }
                        myCompletes.add((System.nanoTime() - t1) / 1e6 / ids.length);
                    } else if (cell.mode().equals("completer")) {
                        // The product path: every claimed job completed on its own through JobCompleter, all at
                        // once, as the worker's executors do; the completer gathers them into shared statements.
                        List<Uni<Boolean>> all = claimed.stream()
                                .map(j -> completer.complete(j.id(), j.leaseOwner(), RESULT)).toList();
                        List<?> done = Uni.join().all(all).andFailFast().await().atMost(T);
                        if (done.contains(Boolean.FALSE)) {
                            throw new IllegalStateException("a completion was not applied");
                        }
                        myCompletes.add((System.nanoTime() - t1) / 1e6 / claimed.size());
                    } else {
                        for (Job j : claimed) {
                            long t2 = System.nanoTime();
                            if (jobs.completeMany(new UUID[] { j.id() }, new String[] { j.leaseOwner() },
                                    new String[] { RESULT_JSON }).await().atMost(T).size() != 1) {
                                throw new IllegalStateException("completion not applied for " + j.id());
                            }
                            myCompletes.add((System.nanoTime() - t2) / 1e6);
                        }
                    }
                    drained.addAndGet(claimed.size());
                }
                claimMs.addAll(myClaims);
                completeMs.addAll(myCompletes);
                return null;
            }));
        }
        for (Future<?> f : futures) {
            f.get(); // rethrows a claimer's failure
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        threads.shutdown();
        assertTrue(threads.awaitTermination(10, TimeUnit.SECONDS));
        String loadAfter = loadAverage();
        boolean capped = stop.get();

        long completed = count("SELECT count(*) FROM job_queue WHERE job_type = 'noop' AND status = 'completed'");
        assertEquals(drained.get(), completed, "every claimed job completed exactly once");
        if (!capped) {
            assertEquals(n, completed, "the whole backlog drained");
            assertEquals(0, count("SELECT count(*) FROM job_queue WHERE job_type = 'noop' AND status <> 'completed'"));
        } else {
            assertEquals(0, count("SELECT count(*) FROM job_queue WHERE job_type = 'noop' AND status = 'processing'"));
        }
        List<Double> claims = new ArrayList<>(claimMs);
        List<Double> completes = new ArrayList<>(completeMs);
        Collections.sort(claims);
        Collections.sort(completes);
        return new Outcome(cell, run, n, drained.get(), seconds, capped, pct(claims, 50), pct(claims, 99), pct(completes, 50),
                pct(completes, 99), claims.size(), emptyClaims.get(), loadBefore, loadAfter);
    }

    /** Replaces the backlog with N due pending jobs (with generations when {@code bench.generations} is true). */
    void seedBacklog(int n) {
        exec(DELETE_BENCH_GENERATIONS);
        exec("DELETE FROM job_queue WHERE job_type = 'noop'");
        boolean generations = Boolean.parseBoolean(setting("bench.generations", "false"));
        exec(generations ? SEED_BACKLOG_WITH_GENERATIONS : SEED_BACKLOG, n, intSetting("bench.users", 100));
        exec("VACUUM ANALYZE job_queue");
        exec("VACUUM ANALYZE image_generations");
    }

    /** Puts exactly {@code rows} finished jobs (completed, no generation) in the table, then vacuums. */
    void setFinishedRows(long rows) {
        long have = count("SELECT count(*) FROM job_queue WHERE job_type = '" + BENCH_FINISHED_TYPE + "'");
        if (have == rows) {
            return;
        }
        long t0 = System.nanoTime();
        if (rows == 0) {
            // TRUNCATE, not DELETE: a vacuumed table keeps its size on disk, and "no finished rows" should mean
            // a small table too. Only benchmark rows live in this scratch database.
            exec("TRUNCATE job_queue");
        } else {
            exec("DELETE FROM job_queue WHERE job_type = '" + BENCH_FINISHED_TYPE + "'");
        }
        if (rows > 0) {
            // Spread over the last 6 days (inside the 7-day retention), as a busy week would leave them.
            exec("""
                    INSERT INTO job_queue (job_type, payload, status, attempt_number, run_at, result, created_at,
                                           updated_at, started_at, completed_at)
                    SELECT '%s', '{}', 'completed', 1, t, '{"ok":true}', t, t + interval '3 seconds',
                           t + interval '1 second', t + interval '3 seconds'
                      FROM (SELECT now() - interval '6 days' + (i * interval '6 days' / $1) AS t
                              FROM generate_series(1, $1) AS i) s""".formatted(BENCH_FINISHED_TYPE), rows);
        }
        exec("VACUUM ANALYZE job_queue");
        log("table state: %d finished rows (set up in %.1fs); job_queue %s, claim index %s", rows,
                (System.nanoTime() - t0) / 1e9,
                query("SELECT pg_size_pretty(pg_total_relation_size('job_queue'))").get(0).getString(0),
                query("SELECT pg_size_pretty(pg_relation_size('job_queue_claim_idx'))").get(0).getString(0));
    }

    /** Prints the claim selection's plan with N pending jobs and the given finished rows (first run only). */
    void explainClaim(long finished, int n) {
        seedBacklog(n);
        StringBuilder plan = new StringBuilder();
        for (Row r : query("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + CLAIM_SELECT + " FOR UPDATE SKIP LOCKED")) {
            plan.append("    ").append(r.getString(0)).append('\n');
        }
        // Autocommit: the row locks FOR UPDATE took end with the statement.
        log("claim selection plan with %d pending and %d finished rows:%n%s", n, finished, plan);
        if (finished > 0) {
            // EXPERIMENT: the same selection without the partial index, in a transaction that is rolled back.
            SqlConnection c = pool.getConnection().await().atMost(T);
            try {
                c.query("BEGIN").execute().await().atMost(T);
                c.query("DROP INDEX job_queue_claim_idx").execute().await().atMost(T);
                StringBuilder without = new StringBuilder();
                c.query("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + CLAIM_SELECT + " FOR UPDATE SKIP LOCKED").execute()
                        .await().atMost(T).forEach(r -> without.append("    ").append(r.getString(0)).append('\n'));
                log("EXPERIMENT, index dropped and restored (rolled back): the same plan without job_queue_claim_idx,"
                        + " %d pending and %d finished rows:%n%s", n, finished, without);
            } finally {
                c.query("ROLLBACK").execute().await().atMost(T);
                c.close().await().atMost(T);
            }
        }
    }

    /**
     * Runs the seed's drain ({@code bench.seed-cmd}, e.g. benchmarks/drain/seed_drain.sh) once, bounded in time, and
     * answers its jobs/s from the line {@code seed jobs_per_s=<rate> ...} it prints.
     */
    static double seedDrain(String cmd, int run) throws Exception {
        Process p = new ProcessBuilder("bash", "-c", cmd).redirectErrorStream(true).start();
        if (!p.waitFor(10, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException("the seed drain did not finish in 10 minutes: " + cmd);
        }
        String out = new String(p.getInputStream().readAllBytes());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("seed jobs_per_s=([0-9.]+).*").matcher(out);
        if (p.exitValue() != 0 || !m.find()) {
            throw new IllegalStateException("the seed drain failed (exit " + p.exitValue() + "): " + out);
        }
        log("run %d %s", run, m.group(0));
        return Double.parseDouble(m.group(1));
    }

    /** Each cell's jobs/s divided by the seed drain's jobs/s of the same run: median (min–max) over the runs. */
    static String ratios(List<Outcome> all, Map<Integer, Double> seedRates) {
        Map<Cell, List<Double>> byCell = new java.util.LinkedHashMap<>();
        for (Outcome o : all) {
            byCell.computeIfAbsent(o.cell(), c -> new ArrayList<>()).add(o.jobsPerSecond() / seedRates.get(o.run()));
        }
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT,
                "%nseed drain (claim_next_job + complete_job, pgbench) jobs/s per run: %s, median %.0f%n"
                        + "| finished rows | completion | K | B | × seed drain of the same run, median (min–max) |%n"
                        + "| ---: | --- | ---: | ---: | ---: |%n",
                seedRates, median(new ArrayList<>(seedRates.values()))));
        byCell.forEach((c, xs) -> s.append(String.format(Locale.ROOT, "| %,d | %s | %d | %d | %s |%n", c.finishedRows(),
                c.mode(), c.claimers(), c.batch(), spread(xs, "%.2f"))));
        return s.toString();
    }

    String summary(List<Outcome> all) {
        Map<Cell, List<Outcome>> byCell = new TreeMap<>((a, b) -> {
            int c = Long.compare(a.finishedRows(), b.finishedRows());
            c = c != 0 ? c : a.mode().compareTo(b.mode()) * -1; // each before batch
            c = c != 0 ? c : Integer.compare(a.batch(), b.batch());
            return c != 0 ? c : Integer.compare(a.claimers(), b.claimers());
        });
        for (Outcome o : all) {
            byCell.computeIfAbsent(o.cell(), c -> new ArrayList<>()).add(o);
        }
        StringBuilder s = new StringBuilder("\n| finished rows | completion | K | B | runs | jobs/s median (min–max)"
                + " | claim p50 ms median (min–max) | claim p99 ms median (min–max) | complete p50 ms median | capped |\n"
                + "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (var e : byCell.entrySet()) {
            List<Outcome> os = e.getValue();
            Cell c = e.getKey();
            s.append(String.format(Locale.ROOT, "| %,d | %s | %d | %d | %d | %s | %s | %s | %.3f | %d |%n", c.finishedRows(),
                    c.mode(), c.claimers(), c.batch(), os.size(),
                    spread(os.stream().map(Outcome::jobsPerSecond).toList(), "%.0f"),
                    spread(os.stream().map(Outcome::claimP50).toList(), "%.2f"),
                    spread(os.stream().map(Outcome::claimP99).toList(), "%.2f"),
                    median(os.stream().map(Outcome::completeP50).toList()),
                    os.stream().filter(Outcome::capped).count()));
        }
        return s.toString();
    }

    static String tsv(Outcome o) {
        Cell c = o.cell();
        return String.format(Locale.ROOT, "%d\t%d\t%s\t%d\t%d\t%d\t%d\t%.3f\t%b\t%.1f\t%.3f\t%.3f\t%.3f\t%.3f\t%d\t%d\t%s\t%s%n",
                o.run(), c.finishedRows(), c.mode(), c.claimers(), c.batch(), o.jobs(), o.drained(), o.seconds(),
                o.capped(), o.jobsPerSecond(), o.claimP50(), o.claimP99(), o.completeP50(), o.completeP99(), o.claims(),
                o.emptyClaims(), o.loadBefore(), o.loadAfter());
    }

    static String spread(List<Double> xs, String fmt) {
        return String.format(Locale.ROOT, fmt + " (" + fmt + "–" + fmt + ")", median(xs), Collections.min(xs),
                Collections.max(xs));
    }

    static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        Collections.sort(s);
        int m = s.size() / 2;
        return s.size() % 2 == 1 ? s.get(m) : (s.get(m - 1) + s.get(m)) / 2;
    }

    static double pct(List<Double> sorted, double p) {
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        int i = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
    }

    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException e) {
            return "?";
        }
    }

    List<Row> query(String sql, Object... args) {
        List<Row> out = new ArrayList<>();
        pool.preparedQuery(sql).execute(Tuple.from(Arrays.asList(args))).await().atMost(T).forEach(out::add);
        return out;
    }

    long count(String sql) {
        return query(sql).get(0).getLong(0);
    }

    void exec(String sql, Object... args) {
        if (args.length == 0) {
            pool.query(sql).execute().await().atMost(T);
        } else {
            pool.preparedQuery(sql).execute(Tuple.from(Arrays.asList(args))).await().atMost(T);
        }
    }

    static String setting(String key, String def) {
        String v = System.getProperty(key);
        if (v == null || v.isBlank()) {
            v = System.getenv(key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_'));
        }
        return v == null || v.isBlank() ? def : v.trim();
    }

    static int intSetting(String key, int def) {
        return Integer.parseInt(setting(key, String.valueOf(def)));
    }

    static List<Integer> intList(String key, String def) {
        return Arrays.stream(setting(key, def).split(",")).map(String::trim).map(Integer::valueOf).toList();
    }

    static void log(String fmt, Object... args) {
        System.out.println("[bench] " + String.format(Locale.ROOT, fmt, args));
    }
}
