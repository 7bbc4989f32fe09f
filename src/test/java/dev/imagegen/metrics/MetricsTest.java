package dev.imagegen.metrics;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.SqlConnection;
import io.vertx.mutiny.sqlclient.Transaction;

import dev.imagegen.health.OldestTransaction;
import dev.imagegen.queue.JobReadRepository;
import dev.imagegen.queue.QueueStats;
import dev.imagegen.testsupport.Db;
import dev.imagegen.testsupport.JobFactory;

/** The Prometheus endpoint shows every meter from the start, and the queue gauges read the cached counts. */
@QuarkusTest
class MetricsTest {

    static final Duration WAIT = Duration.ofSeconds(30);

    @Inject
    Pool pool;

    @Inject
    QueueStats stats;

    @Inject
    OldestTransaction oldestTransaction;

    @BeforeEach
    void clean() {
        Db.clean(pool);
    }

    /** Every meter name declared in {@link Metrics}. */
    static List<String> meterNames() throws IllegalAccessException {
        List<String> names = new ArrayList<>();
        for (Field f : Metrics.class.getDeclaredFields()) {
            int m = f.getModifiers();
            if (Modifier.isPublic(m) && Modifier.isStatic(m) && Modifier.isFinal(m) && f.getType() == String.class) {
                String v = (String) f.get(null);
                if (v.startsWith("imagegen.")) {
                    names.add(v);
                }
            }
        }
        return names;
    }

    static String scrape() {
        return given().get("/q/metrics").then().statusCode(200).extract().asString();
    }

    @Test
    void everyDeclaredMeterIsExposedInItsPrometheusForm() throws Exception {
        List<String> names = meterNames();
        assertEquals(19, names.size(), "Metrics declares " + names); // 14 + claiming paused + the 3 event-stream meters + oldest transaction
        String body = scrape();
        List<String> missing = new ArrayList<>();
        for (String name : names) {
            // imagegen.jobs.enqueued -> imagegen_jobs_enqueued_total (counter), timers get _seconds, and so on.
            String base = name.replace('.', '_');
            Pattern family = Pattern.compile("(?m)^# TYPE " + Pattern.quote(base) + "(_total|_seconds|_bytes)? (counter|gauge|histogram|summary)$");
            if (!family.matcher(body).find()) {
                missing.add(name + " (" + base + ")");
            }
        }
        assertTrue(missing.isEmpty(), "not exposed: " + missing);
    }

    @Test
    void taggedMetersHaveTheirSeriesAtZeroBeforeAnyEvent() {
        String body = scrape();
        for (String outcome : Metrics.OUTCOMES) {
            assertTrue(body.contains("imagegen_jobs_finished_total{outcome=\"" + outcome + "\"}"), outcome);
            assertTrue(body.contains("imagegen_jobs_run_seconds_count{outcome=\"" + outcome + "\"}"), outcome);
        }
        for (String reason : Metrics.STREAM_REFUSALS) {
            assertTrue(body.contains("imagegen_streams_refused_total{reason=\"" + reason + "\"}"), reason);
        }
        for (String route : Metrics.REPLICATE_ROUTES) {
            assertTrue(Pattern.compile("imagegen_replicate_requests_seconds_count\\{[^}]*route=\"" + route + "\"").matcher(body).find(),
                    route);
        }
        for (String status : List.of("pending", "due", "processing", "stuck")) {
            assertTrue(body.contains("imagegen_queue_depth{status=\"" + status + "\"}"), status);
        }
    }

    @Test
    void queueDepthGaugesReflectSeededRowsAfterARefresh() {
        // Pending but not yet due (the worker leaves them alone), and running on a replica whose lease holds.
        for (int i = 0; i < 3; i++) {
            JobFactory.pending(pool, 0, 3600);
        }
        for (int i = 0; i < 2; i++) {
            Db.exec(pool, """
                    INSERT INTO job_queue (job_type, payload, status, attempt_number, lease_owner, lease_expires_at, started_at)
                    VALUES ('metrics_test', '{}', 'processing', 1, 'another-replica', now() + interval '1 hour', now())""");
        }
        stats.refresh().await().atMost(WAIT);
        JobReadRepository.Counts cached = stats.current();
        assertEquals(3, cached.pending());
        assertEquals(0, cached.due());
        assertEquals(2, cached.processing());
        assertEquals(0, cached.stuck());

        await().atMost(WAIT).untilAsserted(() -> {
            String body = scrape();
            assertEquals(3.0, gauge(body, "imagegen_queue_depth{status=\"pending\"}"));
            assertEquals(0.0, gauge(body, "imagegen_queue_depth{status=\"due\"}"));
            assertEquals(2.0, gauge(body, "imagegen_queue_depth{status=\"processing\"}"));
            assertEquals(0.0, gauge(body, "imagegen_queue_depth{status=\"stuck\"}"));
        });

        // The scheduled refresh follows the table on its own.
        Db.exec(pool, "DELETE FROM job_queue WHERE status = 'processing'");
        await().atMost(WAIT).untilAsserted(
                () -> assertEquals(0.0, gauge(scrape(), "imagegen_queue_depth{status=\"processing\"}")));
    }

    /** A transaction held open beside the service shows as the oldest-transaction gauge, and drops when it ends. */
    @Test
    void oldestTransactionGaugeShowsATransactionHeldOpen() throws Exception {
        SqlConnection held = pool.getConnection().await().atMost(WAIT);
        try {
            Transaction tx = held.begin().await().atMost(WAIT);
            held.query("SELECT txid_current()").execute().await().atMost(WAIT);
            await().atMost(WAIT).pollInterval(Duration.ofMillis(200))
                    .until(() -> oldestTransaction.refresh().await().atMost(WAIT).age() >= 1.4);
            await().atMost(WAIT).untilAsserted(() -> assertTrue(gauge(scrape(), "imagegen_db_oldest_transaction_seconds") >= 1.4));
            tx.rollback().await().atMost(WAIT);
        } finally {
            held.close().await().atMost(WAIT);
        }
        assertTrue(oldestTransaction.refresh().await().atMost(WAIT).age() < 1.4);
        assertTrue(oldestTransaction.seconds() < 1.4);
    }

    static double gauge(String body, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(body);
        assertTrue(m.find(), series + " not in the scrape");
        return Double.parseDouble(m.group(1));
    }
}
