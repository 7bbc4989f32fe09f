package dev.imagegen.worker;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.imagegen.replicate.JobException;
import dev.imagegen.storage.FilesystemImageStore;
import dev.imagegen.storage.ImageStore;
import dev.imagegen.testsupport.FakeReplicate;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.core.Vertx;

/** A host that drips an output slowly never trips the idle timeout; the overall deadline stops it. */
class DownloadDeadlineTest {

    static final Duration WAIT = Duration.ofSeconds(20);
    /** Far longer than any gap between two chunks of the drip (100 ms). */
    static final Duration READ_TIMEOUT = Duration.ofSeconds(3);

    @TempDir
    Path dir;

    FakeReplicate replicate;
    Vertx vertx;
    ImageStore store;
    OutputDownloader downloader;

    @BeforeEach
    void setUp() {
        replicate = FakeReplicate.start(Duration.ofMillis(50));
        vertx = Vertx.vertx();
        store = new FilesystemImageStore(vertx, dir.toString());
        downloader = new OutputDownloader(vertx, store, List.of("127.0.0.1"), 10_000_000, READ_TIMEOUT);
    }

    @AfterEach
    void tearDown() {
        downloader.close().await().atMost(WAIT);
        vertx.close().await().atMost(WAIT);
        replicate.close();
    }

    /** A finished prediction at the fake whose one output is served by the slow-drip server. */
    String drippedOutputUrl() throws Exception {
        replicate.dripDownloads(40, Duration.ofMillis(100)); // about 4 s in all
        HttpClient http = HttpClient.newHttpClient();
        String body = new JsonObject().put("input", new JsonObject().put("prompt", "slow drip")).encode();
        HttpResponse<String> created = http.send(HttpRequest.newBuilder(
                URI.create(replicate.apiUrl() + "/models/black-forest-labs/flux-schnell/predictions"))
                .header("Authorization", "Bearer t").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(201, created.statusCode(), created.body());
        String id = new JsonObject(created.body()).getString("id");
        await().atMost(WAIT).until(() -> "succeeded".equals(replicate.prediction(id).orElseThrow().getString("status")));
        return replicate.prediction(id).orElseThrow().getJsonArray("output").getString(0);
    }

    @Test
    void aSlowDripDownloadFailsTransientlyAtItsDeadlineAndStoresNothing() throws Exception {
        String url = drippedOutputUrl();

        JobException e = assertThrows(JobException.class,
                () -> downloader.download(url, "g/drip.png", Duration.ofMillis(1500)).await().atMost(WAIT));

        assertEquals(JobException.Kind.TRANSIENT, e.kind());
        assertTrue(e.getMessage().contains("took longer than its 1500 ms deadline"), e.getMessage());
        assertEquals(1, replicate.dripRequests(), "the download had started before the deadline stopped it");
        assertNull(store.stat("g/drip.png").await().atMost(WAIT), "no partial file is stored");
        await().atMost(WAIT).until(() -> files().isEmpty());
    }

    @Test
    void theSameDripWithinItsDeadlineIsStored() throws Exception {
        String url = drippedOutputUrl();

        StoredImage image = downloader.download(url, "g/drip.png", Duration.ofSeconds(15)).await().atMost(WAIT);

        assertEquals("image/png", image.contentType());
        assertEquals(image.sizeBytes(), store.stat("g/drip.png").await().atMost(WAIT).size());
    }

    private List<Path> files() throws Exception {
        try (Stream<Path> all = Files.walk(dir)) {
            return all.filter(Files::isRegularFile).toList();
        }
    }
}
