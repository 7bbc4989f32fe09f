package dev.imagegen.worker;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imagegen.replicate.JobException;
import dev.imagegen.storage.FilesystemImageStore;
import dev.imagegen.storage.ImageStore;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.core.http.HttpServer;
import io.vertx.mutiny.core.http.HttpServerRequest;
import io.vertx.mutiny.core.http.HttpServerResponse;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OutputDownloaderTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final long MAX_BYTES = 1024 * 1024;
    private static final Duration READ_TIMEOUT = Duration.ofMillis(300);

    @TempDir
    Path dir;

    private Vertx vertx;
    private ImageStore store;
    private FakeServer server;
    private OutputDownloader downloader;
    private final List<HttpServerRequest> hanging = new ArrayList<>();

    @BeforeAll
    static void headless() {
        System.setProperty("java.awt.headless", "true");
    }

    @BeforeEach
    void setUp() {
        vertx = Vertx.vertx();
        store = new FilesystemImageStore(vertx, dir.toString());
        server = new FakeServer(vertx);
        downloader = new OutputDownloader(vertx, store, List.of("127.0.0.1", "replicate.delivery"), MAX_BYTES,
                READ_TIMEOUT, Duration.ofSeconds(2), 8);
    }

    @AfterEach
    void tearDown() {
        hanging.forEach(r -> r.connection().close().subscribe().with(v -> { }, e -> { }));
        downloader.close().await().atMost(WAIT);
        vertx.close().await().atMost(WAIT);
    }

    // ---------------------------------------------------------------- success

    @Test
    void storesAByteForByteCopyWithHashSizeAndDimensions() throws Exception {
        byte[] png = noisyPng(300, 200);
        assertTrue(png.length > 100_000, "the image spans many chunks");
        server.handle(req -> req.response()
                .putHeader("Content-Type", "text/plain") // the probe, not the header, decides
                .putHeader("Content-Length", String.valueOf(png.length))
                .endAndForget(Buffer.buffer(png)));

        StoredImage image = downloader.download(server.url("/out-0.png"), "generations/g1/0.png").await().atMost(WAIT);

        assertEquals(new StoredImage("generations/g1/0.png", "image/png", png.length, 300, 200, sha256(png)), image);
        assertArrayEquals(png, stored("generations/g1/0.png"));
        assertEquals("image/png", store.stat("generations/g1/0.png").await().atMost(WAIT).contentType());
        assertEquals(List.of(), tmpFiles());
    }

    @Test
    void streamsAChunkedJpegWithoutContentLength() throws Exception {
        byte[] jpeg = jpeg(640, 480);
        server.handle(req -> {
            HttpServerResponse resp = req.response().setChunked(true);
            for (int i = 0; i < jpeg.length; i += 1000) {
                resp.writeAndForget(Buffer.buffer(Arrays.copyOfRange(jpeg, i, Math.min(jpeg.length, i + 1000))));
            }
            resp.endAndForget();
        });

        StoredImage image = downloader.download(server.url("/a.webp?token=x"), "g/1.webp").await().atMost(WAIT);

        assertEquals("image/jpeg", image.contentType(), "content type comes from the magic bytes, not the URL");
        assertEquals(640, image.width());
        assertEquals(480, image.height());
        assertEquals(jpeg.length, image.sizeBytes());
        assertEquals(sha256(jpeg), image.sha256());
        assertArrayEquals(jpeg, stored("g/1.webp"));
        assertEquals("/a.webp?token=x", server.lastUri);
    }

    @Test
    void storesBytesItCannotIdentifyAsOctetStream() throws Exception {
        byte[] garbage = new byte[5000];
        new Random(1).nextBytes(garbage);
        garbage[0] = 'x';
        server.handle(req -> req.response().endAndForget(Buffer.buffer(garbage)));

        StoredImage image = downloader.download(server.url("/x"), "g/x.bin").await().atMost(WAIT);

        assertEquals("application/octet-stream", image.contentType());
        assertNull(image.width());
        assertEquals(sha256(garbage), image.sha256());
    }

    @Test
    void decodesABase64DataUri() throws Exception {
        byte[] png = noisyPng(120, 90);
        String uri = "data:image/png;base64," + Base64.getEncoder().encodeToString(png);

        StoredImage image = downloader.download(uri, "g/data.png").await().atMost(WAIT);

        assertEquals(new StoredImage("g/data.png", "image/png", png.length, 120, 90, sha256(png)), image);
        assertArrayEquals(png, stored("g/data.png"));
        assertEquals(0, server.requests.get());
    }

    @Test
    void decodesAnOctetStreamDataUriWithLineBreaksAndNoPadding() throws Exception {
        byte[] jpeg = jpeg(50, 40);
        String b64 = Base64.getMimeEncoder().encodeToString(Arrays.copyOf(jpeg, jpeg.length)); // CRLF every 76 chars
        String unpadded = b64.replace("=", "");
        StoredImage image = downloader.download("DATA:application/octet-stream;base64," + unpadded, "g/d.jpg")
                .await().atMost(WAIT);
        assertEquals("image/jpeg", image.contentType());
        assertEquals(50, image.width());
        assertEquals(40, image.height());
        assertEquals(sha256(jpeg), image.sha256());
    }

    @Test
    void rejectsAnInvalidOrOversizedDataUri() {
        assertKind(JobException.Kind.PERMANENT, "not valid base64",
                () -> downloader.download("data:image/png;base64,iVBOR*w0K", "g/bad.png").await().atMost(WAIT));
        assertKind(JobException.Kind.PERMANENT, "malformed",
                () -> downloader.download("data:image/png;base64", "g/bad.png").await().atMost(WAIT));

        byte[] big = new byte[(int) MAX_BYTES + 1];
        big[0] = (byte) 0x89;
        String uri = "data:image/png;base64," + Base64.getEncoder().encodeToString(big);
        assertKind(JobException.Kind.PERMANENT, "larger than the 1048576-byte limit",
                () -> downloader.download(uri, "g/big.png").await().atMost(WAIT));
        assertNothingStored("g/big.png");
    }

    @Test
    void followsARedirectToAnAllowedHost() throws Exception {
        byte[] png = noisyPng(20, 10);
        server.handle(req -> {
            if (req.path().equals("/moved")) {
                req.response().setStatusCode(302).putHeader("Location", "/final.png").endAndForget();
            } else {
                req.response().endAndForget(Buffer.buffer(png));
            }
        });
        StoredImage image = downloader.download(server.url("/moved"), "g/r.png").await().atMost(WAIT);
        assertEquals(20, image.width());
        assertEquals(2, server.requests.get());
    }

    // ---------------------------------------------------------------- host and scheme rules

    @Test
    void neverContactsAHostThatIsNotAllowed() {
        OutputDownloader strict = new OutputDownloader(vertx, store, List.of("replicate.delivery"), MAX_BYTES, READ_TIMEOUT);
        try {
            server.handle(req -> req.response().endAndForget("should not be reached"));
            for (String url : List.of(server.url("/x.png"), "https://127.0.0.1:" + server.port + "/x.png",
                    "https://replicate.delivery.127.0.0.1.nip.io:" + server.port + "/x",
                    "http://replicate.delivery@127.0.0.1:" + server.port + "/x")) {
                assertKind(JobException.Kind.PERMANENT, "", () -> strict.download(url, "g/no.png").await().atMost(WAIT));
            }
            assertEquals(0, server.requests.get());
            assertEquals(0, server.connections.get());
            assertNothingStored("g/no.png");
        } finally {
            strict.close().await().atMost(WAIT);
        }
    }

    @Test
    void refusesPlainHttpToANonLoopbackHost() {
        assertKind(JobException.Kind.PERMANENT, "https",
                () -> downloader.download("http://pbxt.replicate.delivery/abc/out-0.png", "g/h.png").await().atMost(WAIT));
        assertKind(JobException.Kind.PERMANENT, "scheme",
                () -> downloader.download("ftp://replicate.delivery/x.png", "g/h.png").await().atMost(WAIT));
        assertKind(JobException.Kind.PERMANENT, "not in the allowed",
                () -> downloader.download("https://evilreplicate.delivery/x.png", "g/h.png").await().atMost(WAIT));
        assertKind(JobException.Kind.PERMANENT, "empty",
                () -> downloader.download(" ", "g/h.png").await().atMost(WAIT));
    }

    @Test
    void matchesHostsAndSubdomainsCaseInsensitively() {
        OutputDownloader d = new OutputDownloader(vertx, store, List.of(" Replicate.Delivery. ", "*.example.org", ""),
                MAX_BYTES, READ_TIMEOUT);
        try {
            assertEquals(List.of("replicate.delivery", "example.org"), d.allowedHosts());
            assertTrue(d.isAllowedHost("replicate.delivery"));
            assertTrue(d.isAllowedHost("pbxt.replicate.delivery"));
            assertTrue(d.isAllowedHost("a.b.example.org"));
            assertFalse(d.isAllowedHost("evilreplicate.delivery"));
            assertFalse(d.isAllowedHost("replicate.delivery.evil.com"));
            assertFalse(d.isAllowedHost("delivery"));
            assertEquals("pbxt.replicate.delivery",
                    d.checkUrl("https://PBXT.Replicate.Delivery./x/out-0.png").host());
        } finally {
            d.close().await().atMost(WAIT);
        }
    }

    @Test
    void knowsLoopbackWithoutResolvingNames() {
        assertTrue(OutputDownloader.isLoopback("localhost"));
        assertTrue(OutputDownloader.isLoopback("127.0.0.1"));
        assertTrue(OutputDownloader.isLoopback("127.255.3.4"));
        assertTrue(OutputDownloader.isLoopback("::1"));
        assertFalse(OutputDownloader.isLoopback("127.0.0.256"));
        assertFalse(OutputDownloader.isLoopback("128.0.0.1"));
        assertFalse(OutputDownloader.isLoopback("127.0.0.1.nip.io"));
        assertFalse(OutputDownloader.isLoopback("::2"));
        assertFalse(OutputDownloader.isLoopback("localhost.example.com"));
    }

    @Test
    void refusesARedirectToAHostThatIsNotAllowed() {
        FakeServer other = new FakeServer(vertx);
        other.handle(req -> req.response().endAndForget("should not be reached"));
        server.handle(req -> req.response().setStatusCode(301)
                .putHeader("Location", "http://localhost:" + other.port + "/x.png").endAndForget());

        assertKind(JobException.Kind.PERMANENT, "not in the allowed",
                () -> downloader.download(server.url("/x.png"), "g/red.png").await().atMost(WAIT));
        assertEquals(0, other.requests.get());
        assertEquals(0, other.connections.get());
    }

    @Test
    void stopsAfterTooManyRedirects() {
        server.handle(req -> req.response().setStatusCode(307).putHeader("Location", "/again").endAndForget());
        assertKind(JobException.Kind.PERMANENT, "redirected more than",
                () -> downloader.download(server.url("/start"), "g/loop.png").await().atMost(WAIT));
        assertEquals(OutputDownloader.MAX_REDIRECTS + 1, server.requests.get());
    }

    // ---------------------------------------------------------------- size limit

    @Test
    void refusesADeclaredContentLengthOverTheLimit() {
        server.handle(req -> {
            HttpServerResponse resp = req.response().putHeader("Content-Length", String.valueOf(MAX_BYTES + 1));
            resp.writeAndForget(Buffer.buffer(new byte[] {(byte) 0x89, 'P', 'N', 'G'}));
            hanging.add(req); // never finishes: the client must not wait for the body
        });
        assertKind(JobException.Kind.PERMANENT, "larger than the 1048576-byte limit",
                () -> downloader.download(server.url("/big.png"), "g/big.png").await().atMost(WAIT));
        assertNothingStored("g/big.png");
    }

    @Test
    void stopsAChunkedBodyAsSoonAsItCrossesTheLimit() {
        AtomicInteger sent = new AtomicInteger();
        AtomicBoolean closed = new AtomicBoolean();
        server.handle(req -> {
            req.connection().closeHandler(() -> closed.set(true));
            HttpServerResponse resp = req.response().setChunked(true);
            writeUntilClosed(resp, sent, 64 * 1024);
        });
        assertKind(JobException.Kind.PERMANENT, "larger than the 1048576-byte limit",
                () -> downloader.download(server.url("/endless.png"), "g/endless.png").await().atMost(WAIT));
        assertNothingStored("g/endless.png");
        // the client hangs up instead of draining an endless body
        await().atMost(WAIT).untilTrue(closed);
    }

    @Test
    void acceptsAFileOfExactlyTheLimit() {
        byte[] bytes = new byte[(int) MAX_BYTES];
        server.handle(req -> req.response().endAndForget(Buffer.buffer(bytes)));
        StoredImage image = downloader.download(server.url("/exact"), "g/exact.bin").await().atMost(WAIT);
        assertEquals(MAX_BYTES, image.sizeBytes());
    }

    // ---------------------------------------------------------------- transient network failures

    @Test
    void truncatedBodyIsTransientAndStoresNothing() {
        server.handle(req -> {
            HttpServerResponse resp = req.response().putHeader("Content-Length", "100000");
            resp.write(Buffer.buffer(new byte[50_000])).subscribe().with(
                    v -> req.connection().close().subscribe().with(x -> { }, e -> { }),
                    e -> { });
        });
        assertKind(JobException.Kind.TRANSIENT, "",
                () -> downloader.download(server.url("/cut.png"), "g/cut.png").await().atMost(WAIT));
        assertNothingStored("g/cut.png");
    }

    @Test
    void connectionResetBeforeTheBodyIsTransient() {
        server.handle(req -> req.connection().close().subscribe().with(x -> { }, e -> { }));
        assertKind(JobException.Kind.TRANSIENT, "",
                () -> downloader.download(server.url("/reset.png"), "g/reset.png").await().atMost(WAIT));
        assertNothingStored("g/reset.png");
    }

    @Test
    void aServerThatHangsMidBodyTimesOut() {
        server.handle(req -> {
            HttpServerResponse resp = req.response().putHeader("Content-Length", "100000");
            resp.writeAndForget(Buffer.buffer(new byte[1000]));
            hanging.add(req);
        });
        assertKind(JobException.Kind.TRANSIENT, "timed out",
                () -> downloader.download(server.url("/slow.png"), "g/slow.png").await().atMost(WAIT));
        assertNothingStored("g/slow.png");
    }

    @Test
    void cancellingADownloadHangsUpAndLeavesNothing() {
        AtomicBoolean closed = new AtomicBoolean();
        server.handle(req -> {
            req.connection().closeHandler(() -> closed.set(true));
            HttpServerResponse resp = req.response().putHeader("Content-Length", "100000");
            resp.writeAndForget(Buffer.buffer(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE0}));
            resp.writeAndForget(Buffer.buffer(new byte[1000]));
            hanging.add(req);
        });
        OutputDownloader patient = new OutputDownloader(vertx, store, List.of("127.0.0.1"), MAX_BYTES,
                Duration.ofMinutes(5));
        try {
            var subscription = patient.download(server.url("/slow.jpg"), "g/cancel.jpg").subscribe().with(i -> { }, e -> { });
            await().atMost(WAIT).until(() -> tmpFiles().size() == 1);
            subscription.cancel();
            await().atMost(WAIT).untilTrue(closed);
            await().atMost(WAIT).until(() -> tmpFiles().isEmpty());
            assertNull(store.stat("g/cancel.jpg").await().atMost(WAIT));
        } finally {
            patient.close().await().atMost(WAIT);
        }
    }

    @Test
    void aServerThatNeverAnswersTimesOut() {
        server.handle(hanging::add);
        assertKind(JobException.Kind.TRANSIENT, "timed out",
                () -> downloader.download(server.url("/silent.png"), "g/silent.png").await().atMost(WAIT));
    }

    @Test
    void connectionRefusedIsTransient() {
        int closedPort = server.port;
        server.close();
        assertKind(JobException.Kind.TRANSIENT, "could not connect",
                () -> downloader.download("http://127.0.0.1:" + closedPort + "/x.png", "g/refused.png")
                        .await().atMost(WAIT));
    }

    @Test
    void emptyBodyIsPermanent() {
        server.handle(req -> req.response().endAndForget());
        assertKind(JobException.Kind.PERMANENT, "empty",
                () -> downloader.download(server.url("/empty.png"), "g/empty.png").await().atMost(WAIT));
        assertNothingStored("g/empty.png");
    }

    // ---------------------------------------------------------------- status codes

    @Test
    void mapsStatusCodesToKinds() {
        assertStatus(404, JobException.Kind.OUTPUT_GONE);
        assertStatus(410, JobException.Kind.OUTPUT_GONE);
        assertStatus(403, JobException.Kind.OUTPUT_GONE);
        assertStatus(500, JobException.Kind.TRANSIENT);
        assertStatus(503, JobException.Kind.TRANSIENT);
        assertStatus(429, JobException.Kind.TRANSIENT);
        assertStatus(400, JobException.Kind.PERMANENT);
        assertStatus(204, JobException.Kind.PERMANENT);
    }

    @Test
    void passesOnRetryAfterOf429() {
        server.handle(req -> req.response().setStatusCode(429).putHeader("Retry-After", "7").endAndForget("slow down"));
        JobException e = assertKind(JobException.Kind.TRANSIENT, "429",
                () -> downloader.download(server.url("/busy.png"), "g/busy.png").await().atMost(WAIT));
        assertEquals(Duration.ofSeconds(7), e.retryAfter());
    }

    @Test
    void manyDownloadsShareThePool() throws Exception {
        byte[] png = noisyPng(64, 64);
        server.handle(req -> req.response().endAndForget(Buffer.buffer(png)));
        List<Uni<StoredImage>> all = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            all.add(downloader.download(server.url("/p" + i + ".png"), "g/many/" + i + ".png"));
        }
        List<StoredImage> images = Uni.join().all(all).andFailFast().await().atMost(WAIT);
        assertEquals(40, images.size());
        images.forEach(img -> assertEquals(sha256(png), img.sha256()));
        assertTrue(server.connections.get() <= 8, "pool of 8, saw " + server.connections.get() + " connections");
    }

    // ---------------------------------------------------------------- helpers

    private void assertStatus(int status, JobException.Kind kind) {
        server.handle(req -> req.response().setStatusCode(status).endAndForget(status == 204 ? "" : "body"));
        JobException e = assertKind(kind, String.valueOf(status),
                () -> downloader.download(server.url("/s" + status + ".png"), "g/s.png").await().atMost(WAIT));
        assertNotNullMessage(e);
        assertNothingStored("g/s.png");
    }

    private static void assertNotNullMessage(JobException e) {
        assertTrue(e.getMessage() != null && !e.getMessage().isBlank());
    }

    private static JobException assertKind(JobException.Kind kind, String messagePart,
            org.junit.jupiter.api.function.Executable call) {
        JobException e = assertThrows(JobException.class, call);
        assertEquals(kind, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains(messagePart), "message '" + e.getMessage() + "' lacks '" + messagePart + "'");
        return e;
    }

    private void assertNothingStored(String key) {
        assertNull(store.stat(key).await().atMost(WAIT));
        await().atMost(WAIT).until(() -> tmpFiles().isEmpty());
    }

    private byte[] stored(String key) {
        ImageStore.StoredObject stat = store.stat(key).await().atMost(WAIT);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        store.read(key, 0, stat.size()).collect().asList().await().atMost(WAIT).forEach(b -> out.writeBytes(b.getBytes()));
        return out.toByteArray();
    }

    private List<Path> tmpFiles() {
        Path tmp = dir.resolve(".tmp");
        if (!Files.isDirectory(tmp)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(tmp)) {
            return files.toList();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes chunks while the client keeps reading, with back-pressure, until the connection goes away. */
    private static void writeUntilClosed(HttpServerResponse resp, AtomicInteger sent, int chunkSize) {
        if (resp.closed() || resp.ended()) {
            return;
        }
        byte[] chunk = new byte[chunkSize];
        if (sent.get() == 0) {
            chunk[0] = (byte) 0x89;
            chunk[1] = 'P';
        }
        sent.incrementAndGet();
        resp.write(Buffer.buffer(chunk)).subscribe().with(
                v -> writeUntilClosed(resp, sent, chunkSize),
                e -> { });
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] noisyPng(int width, int height) throws IOException {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_ARGB);
        Random random = new Random(width * 31L + height);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                image.setRGB(x, y, random.nextInt());
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(image, "png", out);
        return out.toByteArray();
    }

    private static byte[] jpeg(int width, int height) throws IOException {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Random random = new Random(3);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                image.setRGB(x, y, random.nextInt());
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(image, "jpg", out);
        return out.toByteArray();
    }

    /** A real HTTP server on 127.0.0.1 with a swappable handler, counting connections and requests. */
    static final class FakeServer {
        final AtomicInteger requests = new AtomicInteger();
        final AtomicInteger connections = new AtomicInteger();
        final HttpServer server;
        final int port;
        volatile Consumer<HttpServerRequest> handler = req -> req.response().setStatusCode(500).endAndForget();
        volatile String lastUri;

        FakeServer(Vertx vertx) {
            server = vertx.createHttpServer()
                    .connectionHandler(c -> connections.incrementAndGet())
                    .requestHandler(req -> {
                        requests.incrementAndGet();
                        lastUri = req.uri();
                        handler.accept(req);
                    })
                    .listen(0, "127.0.0.1").await().atMost(WAIT);
            port = server.actualPort();
        }

        void handle(Consumer<HttpServerRequest> h) {
            handler = h;
        }

        String url(String path) {
            return "http://127.0.0.1:" + port + path;
        }

        void close() {
            server.close().await().atMost(WAIT);
        }
    }
}
