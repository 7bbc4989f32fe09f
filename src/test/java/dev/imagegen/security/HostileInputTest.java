package dev.imagegen.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;

import dev.imagegen.security.HostileInputs.Kind;
import dev.imagegen.security.RawHttp.Request;
import dev.imagegen.security.RawHttp.Response;
import dev.imagegen.testsupport.Db;

/**
 * Every row of the hostile-input table (RELIABILITY.md) against the running service over a raw socket:
 * the status, a problem+json body without a stack trace for every refusal, and exactly the rows each
 * request may write (none for a refusal). Then the service is still alive, its heap after GC is back
 * near where it started, and the document still shows this table.
 */
@QuarkusTest
@TestProfile(HostileProfile.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HostileInputTest {

    /** Heap after GC may grow this much over the whole table (caches warming up), never more. */
    static final long HEAP_SLACK_BYTES = 32L * 1024 * 1024;

    static final String[] TABLES = { "image_generations", "job_queue", "images", "idempotency_keys",
            "replicate_webhook_deliveries" };

    static long heapBefore = -1;
    static long[] countsBefore;
    static int expectedGenerations;
    static int expectedKeys;
    static int expectedDeliveries;

    @Inject
    Pool pool;

    @TestHTTPResource("/")
    URL base;

    static List<HostileInputs.Row> rows() {
        return HostileInputs.all();
    }

    @Test
    @Order(1)
    void baseline() {
        Db.clean(pool);
        countsBefore = counts();
        heapBefore = heapAfterGc();
        assertTrue(rows().size() >= 60, "the table has at least 60 rows, has " + rows().size());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    @Order(2)
    void hostileInputGetsItsAnswer(HostileInputs.Row row) throws IOException {
        long[] before = counts();
        Response r = RawHttp.send(base.getPort(), row.request());
        String body = r.text();
        assertEquals(row.status(), r.status(), row + " → " + body);
        switch (row.kind()) {
            case PROBLEM -> assertProblem(row, r);
            case EMPTY -> assertEquals(0, r.body().length, row + ": Vert.x's own answer has no body, got " + body);
            case JSON -> {
                assertTrue(r.header("Content-Type").startsWith("application/json"), row + ": " + r.header("Content-Type"));
                new JsonObject(body);
            }
        }
        assertFalse(body.contains("\tat ") || body.contains("Exception") || body.contains("java."),
                row + ": no stack trace or class name in the answer: " + body);
        long[] after = counts();
        HostileInputs.Writes w = row.writes();
        long[] expected = { w.generations(), w.generations(), 0, w.keys(), w.deliveries() };
        for (int i = 0; i < TABLES.length; i++) {
            assertEquals(expected[i], after[i] - before[i], row + ": rows written to " + TABLES[i]);
        }
        expectedGenerations += w.generations();
        expectedKeys += w.keys();
        expectedDeliveries += w.deliveries();
        if (w.generations() > 0) {
            assertStoredSanely(new JsonObject(body).getString("generation_id"));
        }
    }

    @Test
    @Order(3)
    void afterTheTableTheServiceIsAliveItsHeapIsBackAndNothingElseWasWritten() throws IOException {
        assertNotNull(countsBefore, "baseline ran first");
        long[] now = counts();
        long[] expected = { expectedGenerations, expectedGenerations, 0, expectedKeys, expectedDeliveries };
        for (int i = 0; i < TABLES.length; i++) {
            assertEquals(expected[i], now[i] - countsBefore[i], "rows in " + TABLES[i] + " after the whole table");
        }
        long heap = heapAfterGc();
        System.out.printf("HostileInputTest: heap after GC %s before the table, %s after (max %s)%n", mib(heapBefore), mib(heap),
                mib(Runtime.getRuntime().maxMemory()));
        assertTrue(heap <= heapBefore + HEAP_SLACK_BYTES, "heap after GC: " + mib(heapBefore) + " before, " + mib(heap) + " after");
        Response enqueue = RawHttp.send(base.getPort(), new Request("POST", HostileInputs.GENERATIONS, RawHttp.pairs(
                "Authorization", "Bearer " + HostileInputs.USER, "Content-Type", HostileInputs.JSON),
                "{\"prompt\":\"still alive\"}".getBytes(StandardCharsets.UTF_8), false));
        assertEquals(202, enqueue.status(), enqueue.text());
    }

    @Test
    @Order(4)
    void reliabilityDocumentShowsThisTable() throws IOException {
        Path doc = Path.of("RELIABILITY.md");
        String table = HostileInputs.markdown();
        if (Boolean.getBoolean("reliability.write")) {
            String text = Files.exists(doc) ? Files.readString(doc) : HostileInputs.BEGIN + "\n" + HostileInputs.END + "\n";
            int from = text.indexOf(HostileInputs.BEGIN);
            int to = text.indexOf(HostileInputs.END) + HostileInputs.END.length() + 1;
            Files.writeString(doc, text.substring(0, from) + table + text.substring(Math.min(to, text.length())));
        }
        String text = Files.readString(doc);
        assertTrue(text.contains(table), "RELIABILITY.md is out of date with HostileInputs: regenerate it with "
                + "./mvnw -B -o test -Dtest=HostileInputTest -Dreliability.write=true");
    }

    // ---------------------------------------------------------------------------------------------

    private static void assertProblem(HostileInputs.Row row, Response r) {
        assertEquals("application/problem+json", r.header("Content-Type"), row + ": " + r.text());
        JsonObject p = new JsonObject(r.text());
        for (String member : List.of("type", "title", "detail")) {
            assertFalse(p.getString(member, "").isBlank(), row + ": problem member " + member + " in " + p);
        }
        assertEquals(row.status(), p.getInteger("status"), row + ": status member");
        if (row.field() != null) {
            JsonArray errors = p.getJsonArray("errors");
            assertNotNull(errors, row + ": a validation problem lists the fields: " + p);
            assertTrue(errors.stream().map(e -> ((JsonObject) e).getString("field")).anyMatch(row.field()::equals),
                    row + ": names " + row.field() + " in " + errors);
        }
        if (row.status() == 401 && !row.request().target().startsWith(HostileInputs.WEBHOOK)) {
            assertEquals("Bearer", r.header("WWW-Authenticate"), row + ": 401 challenges for a bearer token");
        }
        assertTrue(r.body().length < 4096, row + ": a refusal is short, was " + r.body().length + " bytes");
    }

    /** An accepted generation reads back short: no number was expanded on its way to storage. */
    private void assertStoredSanely(String generationId) {
        Row row = Db.query(pool, "SELECT parameters::text, length(parameters::text) FROM image_generations WHERE id = $1",
                UUID.fromString(generationId)).get(0);
        assertTrue(row.getInteger(1) < 512, "stored parameters: " + row.getString(0));
    }

    private long[] counts() {
        Row row = Db.query(pool, "SELECT (SELECT count(*) FROM image_generations), (SELECT count(*) FROM job_queue), "
                + "(SELECT count(*) FROM images), (SELECT count(*) FROM idempotency_keys), "
                + "(SELECT count(*) FROM replicate_webhook_deliveries)").get(0);
        long[] out = new long[TABLES.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = row.getLong(i);
        }
        return out;
    }

    /** Used heap after a full collection (System.gc() is a request: take the least of a few). */
    private static long heapAfterGc() {
        long least = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            least = Math.min(least, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        return least;
    }

    private static String mib(long bytes) {
        return (bytes / (1024 * 1024)) + " MiB";
    }
}
