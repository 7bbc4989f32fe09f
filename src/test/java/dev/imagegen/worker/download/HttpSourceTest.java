package dev.imagegen.worker.download;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imagegen.replicate.JobException;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.core.http.HttpServer;
import io.vertx.mutiny.core.http.HttpServerRequest;
import io.vertx.mutiny.core.http.HttpServerResponse;
import java.io.ByteArrayOutputStream;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** The HTTP source against a real Vert.x server on 127.0.0.1. */
class HttpSourceTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final Duration READ_TIMEOUT = Duration.ofMillis(300);

    /** What a test handler saw: the declared length and the bytes. */
    record Body(Long declared, byte[] bytes) {
    }

    private Vertx vertx;
    private HttpServer server;
    private int port;
    private volatile Consumer<HttpServerRequest> handler;
    private final List<HttpServerRequest> requests = new CopyOnWriteArrayList<>();
    private final List<HttpServerRequest> hanging = new ArrayList<>();
    private HttpSource source;
    private final UrlPolicy policy = new UrlPolicy(List.of("127.0.0.1"));

    @BeforeEach
    void setUp() {
        vertx = Vertx.vertx();
        server = vertx.createHttpServer()
                .requestHandler(req -> {
                    requests.add(req);
                    handler.accept(req);
                })
                .listen(0, "127.0.0.1").await().atMost(WAIT);
        port = server.actualPort();
        source = new HttpSource(vertx, policy, READ_TIMEOUT, Duration.ofSeconds(2), 4);
    }

    @AfterEach
    void tearDown() {
        hanging.forEach(r -> r.connection().close().subscribe().with(v -> { }, e -> { }));
        source.close().await().atMost(WAIT);
        vertx.close().await().atMost(WAIT);
    }

    @Test
    void handsA200BodyAndItsDeclaredLengthToTheHandler() {
        byte[] bytes = random(200_000);
        handler = req -> req.response().putHeader("Content-Length", String.valueOf(bytes.length))
                .endAndForget(Buffer.buffer(bytes));

        Body body = fetch("/out-0.png?sig=a%2Bb", null);

        assertEquals(Long.valueOf(bytes.length), body.declared());
        assertArrayEquals(bytes, body.bytes());
        HttpServerRequest req = requests.get(0);
        assertEquals("/out-0.png?sig=a%2Bb", req.uri());
        assertEquals("identity", req.getHeader("Accept-Encoding"));
        assertEquals("imagegen-queue", req.getHeader("User-Agent"));
    }

    @Test
    void aChunkedBodyHasNoDeclaredLength() {
        handler = req -> {
            HttpServerResponse resp = req.response().setChunked(true);
            for (int i = 0; i < 5; i++) {
                resp.writeAndForget("part" + i);
            }
            resp.endAndForget();
        };
        Body body = fetch("/chunked", null);
        assertNull(body.declared());
        assertEquals("part0part1part2part3part4", new String(body.bytes()));
    }

    @Test
    void followsRelativeRedirectsUpToTheLimit() {
        handler = req -> {
            int hop = Integer.parseInt(req.path().substring(1));
            if (hop < HttpSource.MAX_REDIRECTS) {
                req.response().setStatusCode(hop % 2 == 0 ? 302 : 308).putHeader("Location", "/" + (hop + 1))
                        .endAndForget("moved");
            } else {
                req.response().endAndForget("arrived at " + hop);
            }
        };
        assertEquals("arrived at 3", new String(fetch("/0", null).bytes()));
        assertEquals(HttpSource.MAX_REDIRECTS + 1, requests.size());

        requests.clear();
        assertKind(JobException.Kind.PERMANENT, "redirected more than 3 times", () -> fetch("/-1", null));
        assertEquals(HttpSource.MAX_REDIRECTS + 1, requests.size(), "the fourth redirect is not followed");
    }

    @Test
    void checksEveryRedirectTargetBeforeContactingIt() {
        handler = req -> req.response().setStatusCode(301).putHeader("Location", "http://localhost:" + port + "/x")
                .endAndForget();
        assertKind(JobException.Kind.PERMANENT, "'localhost' is not in the allowed", () -> fetch("/start", null));
        assertEquals(1, requests.size(), "the refused host is never contacted");

        handler = req -> req.response().setStatusCode(307).endAndForget();
        assertKind(JobException.Kind.PERMANENT, "without a location", () -> fetch("/nowhere", null));
        handler = req -> req.response().setStatusCode(303).putHeader("Location", "http://[bad").endAndForget();
        assertKind(JobException.Kind.PERMANENT, "redirected to an invalid URL", () -> fetch("/bad", null));
    }

    @Test
    void translatesStatusCodes() {
        handler = req -> req.response().setStatusCode(Integer.parseInt(req.path().substring(1))).endAndForget("no");
        assertKind(JobException.Kind.OUTPUT_GONE, "no longer available (HTTP 410)", () -> fetch("/410", null));
        assertKind(JobException.Kind.TRANSIENT, "answered HTTP 502", () -> fetch("/502", null));
        assertKind(JobException.Kind.PERMANENT, "refused the download (HTTP 401)", () -> fetch("/401", null));

        handler = req -> req.response().setStatusCode(429).putHeader("Retry-After", "12").endAndForget();
        assertEquals(Duration.ofSeconds(12), assertKind(JobException.Kind.TRANSIENT, "429", () -> fetch("/busy", null))
                .retryAfter());
    }

    @Test
    void statusTableAndRetryAfterParsing() {
        for (int status : new int[] { 403, 404, 410 }) {
            assertEquals(JobException.Kind.OUTPUT_GONE, HttpFailures.status(status, null).kind());
        }
        for (int status : new int[] { 408, 429, 500, 503, 599 }) {
            assertEquals(JobException.Kind.TRANSIENT, HttpFailures.status(status, null).kind());
        }
        for (int status : new int[] { 204, 304, 400, 401, 405, 451 }) {
            assertEquals(JobException.Kind.PERMANENT, HttpFailures.status(status, "5").kind());
        }
        assertEquals(Duration.ofSeconds(5), HttpFailures.parseRetryAfter(" 5 "));
        assertEquals(Duration.ofHours(1), HttpFailures.parseRetryAfter("86400"), "capped at an hour");
        assertNull(HttpFailures.parseRetryAfter("-1"));
        assertNull(HttpFailures.parseRetryAfter("Wed, 21 Oct 2026 07:28:00 GMT"));
        assertNull(HttpFailures.parseRetryAfter(null));
    }

    @Test
    void aRefusedConnectionIsTransient() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        assertKind(JobException.Kind.TRANSIENT, "could not connect to the output host '127.0.0.1'",
                () -> source.fetch(policy.check("http://127.0.0.1:" + closedPort + "/x"), null, HttpSourceTest::collect)
                        .await().atMost(WAIT));
    }

    @Test
    void noHeadersOrNoBodyBytesWithinTheReadTimeoutIsTransient() {
        handler = hanging::add;
        assertKind(JobException.Kind.TRANSIENT, "timed out: no data from '127.0.0.1' for 300 ms", () -> fetch("/silent", null));

        handler = req -> {
            hanging.add(req);
            req.response().putHeader("Content-Length", "100").writeAndForget("only a little");
        };
        assertKind(JobException.Kind.TRANSIENT, "timed out: no data", () -> fetch("/stalls", null));
    }

    @Test
    void anEarlyCloseIsTransient() {
        handler = req -> {
            req.response().putHeader("Content-Length", "1000").writeAndForget("cut");
            vertx.setTimer(50, id -> req.connection().close().subscribe().with(v -> { }, e -> { }));
        };
        assertKind(JobException.Kind.TRANSIENT, "closed before the download finished", () -> fetch("/cut", null));
    }

    @Test
    void aDownloadStillRunningAtItsDeadlineIsResetAndTransient() {
        handler = req -> {
            hanging.add(req);
            HttpServerResponse resp = req.response().setChunked(true);
            vertx.setPeriodic(50, id -> {
                if (resp.closed()) {
                    vertx.cancelTimer(id);
                } else {
                    resp.writeAndForget("drip"); // never idle long enough for the read timeout
                }
            });
        };
        long start = System.nanoTime();
        assertKind(JobException.Kind.TRANSIENT, "from '127.0.0.1' took longer than its 700 ms deadline",
                () -> fetch("/drip", Duration.ofMillis(700)));
        long tookMs = (System.nanoTime() - start) / 1_000_000;
        assertTrue(tookMs >= 600 && tookMs < 10_000, "stopped at the deadline, took " + tookMs + " ms");

        assertEquals("1500 ms", DownloadDeadline.human(Duration.ofMillis(1500)));
        assertEquals("90 s", DownloadDeadline.human(Duration.ofSeconds(90)));
        assertEquals("1 minute", DownloadDeadline.human(Duration.ofMinutes(1)));
        assertEquals("3 minutes", DownloadDeadline.human(Duration.ofMinutes(3)));
    }

    @Test
    void aHandlerFailurePassesThroughUnchangedAndHangsUp() {
        AtomicBoolean closed = new AtomicBoolean();
        AtomicInteger sent = new AtomicInteger();
        handler = req -> {
            req.connection().closeHandler(() -> closed.set(true));
            req.response().setChunked(true);
            writeUntilClosed(req.response(), sent);
        };
        IllegalStateException refusal = new IllegalStateException("the store said no");

        IllegalStateException e = assertThrows(IllegalStateException.class, () -> source.fetch(target("/endless"), null,
                (declared, body) -> body.select().first(3).collect().last().chain(() -> Uni.createFrom().failure(refusal)))
                .await().atMost(WAIT));

        assertSame(refusal, e);
        await().atMost(WAIT).untilTrue(closed);
    }

    @Test
    void refusesUnusableSettings() {
        assertThrows(IllegalArgumentException.class, () -> new HttpSource(vertx, policy, READ_TIMEOUT, Duration.ZERO, 1));
        assertThrows(IllegalArgumentException.class, () -> new HttpSource(vertx, policy, Duration.ofMillis(-1),
                Duration.ofSeconds(1), 1));
        assertThrows(IllegalArgumentException.class, () -> new HttpSource(vertx, policy, READ_TIMEOUT, Duration.ofSeconds(1), 0));
        assertThrows(IllegalArgumentException.class, () -> source.fetch(target("/x"), Duration.ZERO, HttpSourceTest::collect));
    }

    // ---------------------------------------------------------------- helpers

    private UrlPolicy.Target target(String path) {
        return policy.check("http://127.0.0.1:" + port + path);
    }

    private Body fetch(String path, Duration deadline) {
        return Uni.createFrom().deferred(() -> source.fetch(target(path), deadline, HttpSourceTest::collect))
                .await().atMost(WAIT);
    }

    private static Uni<Body> collect(Long declared, io.smallrye.mutiny.Multi<Buffer> body) {
        return body.collect().in(ByteArrayOutputStream::new, (out, chunk) -> out.writeBytes(chunk.getBytes()))
                .map(out -> new Body(declared, out.toByteArray()));
    }

    private static JobException assertKind(JobException.Kind kind, String messagePart, Executable call) {
        JobException e = assertThrows(JobException.class, call);
        assertEquals(kind, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains(messagePart), "'" + e.getMessage() + "' lacks '" + messagePart + "'");
        return e;
    }

    private static void writeUntilClosed(HttpServerResponse resp, AtomicInteger sent) {
        if (resp.closed() || resp.ended()) {
            return;
        }
        sent.incrementAndGet();
        resp.write(Buffer.buffer(new byte[8192])).subscribe().with(v -> writeUntilClosed(resp, sent), e -> { });
    }

    private static byte[] random(int n) {
        byte[] bytes = new byte[n];
        new Random(n).nextBytes(bytes);
        return bytes;
    }
}
