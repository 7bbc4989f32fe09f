package dev.imagegen.api;

import static dev.imagegen.testsupport.Tokens.bearer;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import jakarta.inject.Inject;
import jakarta.ws.rs.core.Response;

import org.jboss.logmanager.ExtLogRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.vertx.mutiny.sqlclient.Pool;

import dev.imagegen.generation.StreamLimitException;
import dev.imagegen.testsupport.Db;
import dev.imagegen.testsupport.Tokens;

/**
 * The one exception mapper logs every 5xx with its cause and answers it as the same problem+json as
 * before; 4xx answers are not logged. The log is read by a handler on the mapper's logger.
 */
@QuarkusTest
class ServerErrorLoggingTest {

    private static final String PROBLEMS = "https://imagegen-queue.dev/problems/";

    @Inject
    Pool pool;

    final List<LogRecord> records = new CopyOnWriteArrayList<>();
    final Logger logger = Logger.getLogger(ExceptionMappers.class.getName());
    final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            records.add(record);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeEach
    void listen() {
        Db.clean(pool);
        capture.setLevel(Level.ALL);
        logger.addHandler(capture);
    }

    @AfterEach
    void stopListening() {
        logger.removeHandler(capture);
    }

    @Test
    void aDatabaseFailureIsA500ProblemLoggedWithItsCause() {
        Db.exec(pool, """
                CREATE OR REPLACE FUNCTION test_fail_job_insert() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'job insert failed on purpose'; END $$""");
        Db.exec(pool, "CREATE TRIGGER test_fail_job_insert BEFORE INSERT ON job_queue FOR EACH ROW EXECUTE FUNCTION test_fail_job_insert()");
        try {
            given().header("Authorization", bearer(Tokens.user("logged-" + UUID.randomUUID())))
                    .contentType(ContentType.JSON).body("{\"prompt\":\"doomed\"}")
                    .when().post("/v1/generations").then()
                    .statusCode(500)
                    .contentType("application/problem+json")
                    .body("type", equalTo(PROBLEMS + "internal-error"))
                    .body("title", equalTo("Internal server error"))
                    .body("status", equalTo(500))
                    .body("detail", equalTo("The service could not complete this request. It has been logged."))
                    .body("detail", not(containsString("on purpose")))
                    .body("instance", equalTo("/v1/generations"))
                    .body("errors", nullValue());
        } finally {
            Db.exec(pool, "DROP TRIGGER test_fail_job_insert ON job_queue");
        }
        LogRecord logged = records.stream().filter(r -> r.getLevel().intValue() >= Level.SEVERE.intValue())
                .findFirst().orElseThrow(() -> new AssertionError("no error was logged: " + records));
        assertTrue(text(logged).contains("/v1/generations"), "the log names the request: " + text(logged));
        assertTrue(causeChainMentions(logged.getThrown(), "job insert failed on purpose"),
                "the log carries the database's error as its cause: " + logged.getThrown());
    }

    @Test
    void aClientErrorIsNotLogged() {
        given().header("Authorization", bearer(Tokens.user("quiet-" + UUID.randomUUID())))
                .get("/v1/generations/" + UUID.randomUUID()).then()
                .statusCode(404).contentType("application/problem+json");
        assertTrue(records.isEmpty(), "a 404 logs nothing: " + records);
    }

    @Test
    void aServiceFailureWithACauseIsLoggedWithThatCause() {
        IOException cause = new IOException("disk unplugged");
        Response r = new ExceptionMappers().api(new ApiException(ProblemType.UNAVAILABLE, "Try again.", cause), null);
        assertEquals(503, r.getStatus());
        assertEquals(Problem.MEDIA_TYPE, r.getMediaType().toString());
        assertEquals(new Problem(PROBLEMS + "service-unavailable", "Service unavailable", 503, "Try again.", null, null),
                r.getEntity());
        assertEquals(1, records.size());
        assertEquals(Level.SEVERE.intValue(), records.get(0).getLevel().intValue());
        assertSame(cause, records.get(0).getThrown());
    }

    @Test
    void refusedStreamsKeepTheirStatusAndRetryAfterAndOnlyThe503IsLogged() {
        Response user = new ExceptionMappers().api(new StreamLimitException(StreamLimitException.Cap.USER,
                "You have 10 event streams open.", Duration.ofSeconds(30)), null);
        assertEquals(429, user.getStatus());
        assertEquals("30", user.getHeaderString("Retry-After"));
        assertEquals(new Problem(PROBLEMS + "too-many-requests", "Too many requests", 429, "You have 10 event streams open.",
                null, null), user.getEntity());
        assertTrue(records.isEmpty(), "a 429 logs nothing");

        Response replica = new ExceptionMappers().api(new StreamLimitException(StreamLimitException.Cap.REPLICA,
                "This replica is full.", Duration.ofMillis(200)), null);
        assertEquals(503, replica.getStatus());
        assertEquals("1", replica.getHeaderString("Retry-After"), "never less than a second");
        assertEquals(PROBLEMS + "service-unavailable", ((Problem) replica.getEntity()).type());
        assertEquals(1, records.size(), "the 503 is logged");
        assertNull(records.get(0).getThrown(), "an expected refusal has no cause to print");
    }

    private static String text(LogRecord r) {
        return r instanceof ExtLogRecord ext ? ext.getFormattedMessage() : r.getMessage();
    }

    private static boolean causeChainMentions(Throwable t, String text) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c.getMessage() != null && c.getMessage().contains(text)) {
                return true;
            }
        }
        return false;
    }
}
