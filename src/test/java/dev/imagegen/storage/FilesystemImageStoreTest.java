package dev.imagegen.storage;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imagegen.storage.ImageStore.StoredObject;
import io.smallrye.mutiny.Multi;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.core.buffer.Buffer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FilesystemImageStoreTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private Vertx vertx;
    private FilesystemImageStore store;

    @BeforeEach
    void setUp() {
        vertx = Vertx.vertx();
        store = new FilesystemImageStore(vertx, dir.toString());
    }

    @AfterEach
    void tearDown() {
        vertx.close().await().atMost(WAIT);
    }

    @Test
    void putThenStatThenReadWholeAndRange() {
        byte[] bytes = randomBytes(200_000, 1);
        long written = store.put("generations/g1/0.png", "image/png", chunks(bytes, 8192)).await().atMost(WAIT);
        assertEquals(bytes.length, written);

        StoredObject stat = store.stat("generations/g1/0.png").await().atMost(WAIT);
        assertEquals(new StoredObject("generations/g1/0.png", bytes.length, "image/png"), stat);

        assertArrayEquals(bytes, readAll("generations/g1/0.png", 0, bytes.length));
        assertArrayEquals(Arrays.copyOfRange(bytes, 10, 110), readAll("generations/g1/0.png", 10, 100));
        assertArrayEquals(Arrays.copyOfRange(bytes, 150_000, 200_000), readAll("generations/g1/0.png", 150_000, 50_000));
        assertEquals(0, readAll("generations/g1/0.png", 5, 0).length);
    }

    @Test
    void contentTypeComesFromTheSidecarNotTheExtension() {
        store.put("a/b.png", "image/webp", chunks(new byte[] {1, 2, 3}, 2)).await().atMost(WAIT);
        assertEquals("image/webp", store.stat("a/b.png").await().atMost(WAIT).contentType());
        assertTrue(Files.exists(dir.resolve("a/b.png.meta")));
    }

    @Test
    void contentTypeFallsBackToTheExtensionWithoutSidecar() throws IOException {
        Files.createDirectories(dir.resolve("x"));
        Files.write(dir.resolve("x/1.jpg"), new byte[] {1, 2});
        Files.write(dir.resolve("x/2.bin"), new byte[] {1, 2, 3});
        assertEquals(new StoredObject("x/1.jpg", 2, "image/jpeg"), store.stat("x/1.jpg").await().atMost(WAIT));
        assertEquals("application/octet-stream", store.stat("x/2.bin").await().atMost(WAIT).contentType());
    }

    @Test
    void statOfMissingKeyIsNull() {
        assertNull(store.stat("nope/0.png").await().atMost(WAIT));
        store.put("folder/file.png", "image/png", chunks(new byte[] {1}, 1)).await().atMost(WAIT);
        assertNull(store.stat("folder").await().atMost(WAIT), "a folder is not an object");
    }

    @Test
    void putReplacesAnExistingObject() {
        store.put("k/0.png", "image/png", chunks(randomBytes(50_000, 2), 4096)).await().atMost(WAIT);
        byte[] second = randomBytes(1234, 3);
        store.put("k/0.png", "image/jpeg", chunks(second, 100)).await().atMost(WAIT);
        assertEquals(new StoredObject("k/0.png", 1234, "image/jpeg"), store.stat("k/0.png").await().atMost(WAIT));
        assertArrayEquals(second, readAll("k/0.png", 0, 1234));
        assertEquals(List.of(), tmpFiles());
    }

    @Test
    void emptyBodyStoresAnEmptyObject() {
        assertEquals(0L, store.put("e/0.png", null, Multi.createFrom().empty()).await().atMost(WAIT));
        assertEquals(new StoredObject("e/0.png", 0, "application/octet-stream"), store.stat("e/0.png").await().atMost(WAIT));
    }

    @Test
    void failedBodyLeavesNoObjectAndNoTempFile() {
        IllegalStateException boom = new IllegalStateException("boom");
        Multi<Buffer> body = Multi.createBy().concatenating().streams(
                chunks(randomBytes(100_000, 4), 8192),
                Multi.createFrom().failure(boom));
        IllegalStateException thrown = assertThrows(IllegalStateException.class,
                () -> store.put("f/0.png", "image/png", body).await().atMost(WAIT));
        assertSame(boom, thrown);
        assertNull(store.stat("f/0.png").await().atMost(WAIT));
        assertFalse(Files.exists(dir.resolve("f/0.png")));
        assertEquals(List.of(), tmpFiles());
    }

    @Test
    void failedReplacementKeepsThePreviousObject() {
        byte[] first = randomBytes(3000, 5);
        store.put("r/0.png", "image/png", chunks(first, 1000)).await().atMost(WAIT);
        Multi<Buffer> failing = Multi.createBy().concatenating().streams(
                chunks(randomBytes(5000, 6), 1000), Multi.createFrom().failure(new IllegalStateException("cut")));
        assertThrows(IllegalStateException.class, () -> store.put("r/0.png", "image/jpeg", failing).await().atMost(WAIT));
        assertEquals(new StoredObject("r/0.png", 3000, "image/png"), store.stat("r/0.png").await().atMost(WAIT));
        assertArrayEquals(first, readAll("r/0.png", 0, 3000));
        assertEquals(List.of(), tmpFiles());
    }

    @Test
    void cancelledPutRemovesItsTempFile() {
        // a body that sends one chunk and then never ends
        Multi<Buffer> never = Multi.createBy().concatenating().streams(
                chunks(new byte[1000], 1000), Multi.createFrom().nothing());
        var cancellable = store.put("c/0.png", "image/png", never).subscribe().with(n -> { }, e -> { });
        await().atMost(WAIT).until(() -> tmpFiles().size() == 1);
        cancellable.cancel();
        await().atMost(WAIT).until(() -> tmpFiles().isEmpty());
        assertNull(store.stat("c/0.png").await().atMost(WAIT));
    }

    @Test
    void deleteIsIdempotent() {
        store.put("d/0.png", "image/png", chunks(new byte[] {9, 9}, 1)).await().atMost(WAIT);
        store.delete("d/0.png").await().atMost(WAIT);
        assertNull(store.stat("d/0.png").await().atMost(WAIT));
        assertFalse(Files.exists(dir.resolve("d/0.png.meta")));
        store.delete("d/0.png").await().atMost(WAIT);
        store.delete("never/existed.png").await().atMost(WAIT);
    }

    @Test
    void readOfMissingKeyFails() {
        assertThrows(RuntimeException.class,
                () -> store.read("missing/0.png", 0, 10).collect().asList().await().atMost(WAIT));
    }

    @Test
    void keysThatCouldEscapeTheRootAreRejected() {
        for (String key : List.of("", "../x.png", "a/../../x.png", "a/../b.png", "/etc/passwd", "a\\b.png",
                "a//b.png", "a/", "/", ".", "..", "./a.png", "a/./b.png", ".tmp/x", "a/.hidden",
                "x.png.meta", "a/b c.png", "a/b\u0000.png", "C:/x.png", "a/%2e%2e/b")) {
            assertThrows(IllegalArgumentException.class,
                    () -> store.put(key, "image/png", chunks(new byte[] {1}, 1)).await().atMost(WAIT), key);
            assertThrows(IllegalArgumentException.class, () -> store.stat(key).await().atMost(WAIT), key);
            assertThrows(IllegalArgumentException.class,
                    () -> store.read(key, 0, 1).collect().asList().await().atMost(WAIT), key);
            assertThrows(IllegalArgumentException.class, () -> store.delete(key).await().atMost(WAIT), key);
        }
        assertThrows(IllegalArgumentException.class, () -> store.put(null, "image/png", chunks(new byte[] {1}, 1)).await().atMost(WAIT));
        assertThrows(IllegalArgumentException.class, () -> store.read("a.png", -1, 1).collect().asList().await().atMost(WAIT));
    }

    @Test
    void fiftyMegabytesStreamThroughWithBoundedDemand() throws Exception {
        int chunkSize = 64 * 1024;
        int chunkCount = 800; // 50 MiB
        byte[] pattern = randomBytes(chunkSize, 7);
        AtomicLong requested = new AtomicLong();
        AtomicLong emitted = new AtomicLong();
        AtomicLong maxOutstanding = new AtomicLong();
        MessageDigest expected = MessageDigest.getInstance("SHA-256");
        Multi<Buffer> body = Multi.createFrom().range(0, chunkCount)
                .onRequest().invoke(n -> requested.set(Math.min(Long.MAX_VALUE / 2, requested.get() + n)))
                .map(i -> {
                    byte[] chunk = pattern.clone();
                    chunk[0] = (byte) i.intValue();
                    synchronized (expected) {
                        expected.update(chunk);
                    }
                    long outstanding = requested.get() - emitted.incrementAndGet();
                    maxOutstanding.accumulateAndGet(outstanding, Math::max);
                    return Buffer.buffer(chunk);
                });

        long written = store.put("big/0.bin", "application/octet-stream", body).await().atMost(Duration.ofMinutes(2));
        assertEquals((long) chunkSize * chunkCount, written);
        assertTrue(maxOutstanding.get() <= 16, "the body was pulled ahead by " + maxOutstanding.get() + " chunks");

        MessageDigest actual = MessageDigest.getInstance("SHA-256");
        AtomicLong read = new AtomicLong();
        store.read("big/0.bin", 0, written)
                .onItem().invoke(b -> {
                    actual.update(b.getBytes());
                    read.addAndGet(b.length());
                })
                .collect().last().await().atMost(Duration.ofMinutes(2));
        assertEquals(written, read.get());
        assertEquals(HexFormat.of().formatHex(expected.digest()), HexFormat.of().formatHex(actual.digest()));
    }

    @Test
    void cancellingAReadStopsIt() {
        byte[] bytes = randomBytes(1_000_000, 8);
        store.put("p/0.bin", null, chunks(bytes, 65536)).await().atMost(WAIT);
        Buffer first = store.read("p/0.bin", 0, bytes.length).toUni().await().atMost(WAIT);
        assertTrue(first.length() > 0 && first.length() <= bytes.length);
        assertArrayEquals(Arrays.copyOf(bytes, first.length()), first.getBytes());
    }

    // ---------------------------------------------------------------- helpers

    private byte[] readAll(String key, long offset, long length) {
        List<Buffer> parts = store.read(key, offset, length).collect().asList().await().atMost(WAIT);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        parts.forEach(b -> out.writeBytes(b.getBytes()));
        return out.toByteArray();
    }

    private List<Path> tmpFiles() {
        Path tmp = dir.resolve(FilesystemImageStore.TMP_DIR);
        if (!Files.isDirectory(tmp)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(tmp)) {
            return files.toList();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static Multi<Buffer> chunks(byte[] bytes, int size) {
        int count = (bytes.length + size - 1) / size;
        return Multi.createFrom().range(0, count)
                .map(i -> Buffer.buffer(Arrays.copyOfRange(bytes, i * size, Math.min(bytes.length, (i + 1) * size))));
    }

    private static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }
}
