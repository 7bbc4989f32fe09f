package dev.imagegen.storage;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imagegen.storage.ImageStore.StoredObject;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.core.Context;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.core.buffer.Buffer;
import java.io.ByteArrayOutputStream;
import java.lang.management.ManagementFactory;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every {@link ImageStore} must do, run against each implementation by a subclass: the filesystem
 * store and the S3 store behave the same to their callers. A subclass builds the store and says what an
 * unfinished upload leaves behind ({@link #pendingUploads()}: temporary files, incomplete multipart
 * uploads), which must be nothing once a put has succeeded, failed or been cancelled.
 */
abstract class ImageStoreContractTest {

    protected static final Duration WAIT = Duration.ofSeconds(30);
    protected static final int MIB = 1024 * 1024;

    protected Vertx vertx;
    protected ImageStore store;

    /** A fresh, empty store. */
    protected abstract ImageStore createStore(Vertx vertx) throws Exception;

    /** What puts in progress (or interrupted ones) have left behind; empty when none. */
    protected abstract List<String> pendingUploads();

    /** A body at least this large is streamed in several pieces (S3: more than one multipart part). */
    protected abstract int partSize();

    @BeforeEach
    void setUpStore() throws Exception {
        vertx = Vertx.vertx();
        store = createStore(vertx);
    }

    @AfterEach
    void tearDownStore() {
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
        assertArrayEquals(Arrays.copyOfRange(bytes, 199_999, 200_000), readAll("generations/g1/0.png", 199_999, 1));
        assertEquals(0, readAll("generations/g1/0.png", 5, 0).length);
        assertEquals(List.of(), pendingUploads());
    }

    @Test
    void contentTypeIsTheOneGivenToPutNotTheExtension() {
        store.put("a/b.png", "image/webp", chunks(new byte[] {1, 2, 3}, 2)).await().atMost(WAIT);
        assertEquals("image/webp", store.stat("a/b.png").await().atMost(WAIT).contentType());
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
        assertEquals(List.of(), pendingUploads());
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
        assertEquals(List.of(), pendingUploads());
    }

    @Test
    void bodyFailingAfterSeveralPartsLeavesNothing() {
        IllegalStateException cut = new IllegalStateException("cut after several parts");
        Multi<Buffer> body = Multi.createBy().concatenating().streams(
                chunks(randomBytes(2 * partSize() + 12_345, 9), 64 * 1024),
                Multi.createFrom().failure(cut));
        IllegalStateException thrown = assertThrows(IllegalStateException.class,
                () -> store.put("f/1.bin", "application/octet-stream", body).await().atMost(WAIT));
        assertSame(cut, thrown);
        assertNull(store.stat("f/1.bin").await().atMost(WAIT));
        assertEquals(List.of(), pendingUploads());
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
        assertEquals(List.of(), pendingUploads());
    }

    @Test
    void cancelledPutLeavesNothing() {
        // a body that sends more than one part and then never ends
        Multi<Buffer> never = Multi.createBy().concatenating().streams(
                chunks(randomBytes(partSize() + 1000, 10), 64 * 1024), Multi.createFrom().nothing());
        var cancellable = store.put("c/0.png", "image/png", never).subscribe().with(n -> { }, e -> { });
        await().atMost(WAIT).until(() -> pendingUploads().size() == 1);
        cancellable.cancel();
        await().atMost(WAIT).until(() -> pendingUploads().isEmpty());
        assertNull(store.stat("c/0.png").await().atMost(WAIT));
    }

    @Test
    void bodiesOnAndAroundPartBoundariesRoundTrip() {
        for (int size : new int[] {partSize() - 1, partSize(), 2 * partSize(), 2 * partSize() + 1}) {
            byte[] bytes = randomBytes(size, size);
            String key = "b/" + size + ".bin";
            // odd chunk sizes, so that chunks straddle part boundaries
            assertEquals(size, store.put(key, "application/octet-stream", chunks(bytes, 100_003)).await().atMost(WAIT));
            assertEquals(new StoredObject(key, size, "application/octet-stream"), store.stat(key).await().atMost(WAIT));
            assertEquals(sha256(bytes), sha256(readAll(key, 0, size)), key);
            int across = Math.min(size, partSize() + 10) - 20;
            assertArrayEquals(Arrays.copyOfRange(bytes, across, across + 20), readAll(key, across, 20), key);
        }
        assertEquals(List.of(), pendingUploads());
    }

    @Test
    void oneChunkLargerThanAPartIsSplit() {
        byte[] bytes = randomBytes(2 * partSize() + 7, 11);
        assertEquals(bytes.length, store.put("big/one-chunk.bin", null, Multi.createFrom().item(Buffer.buffer(bytes)))
                .await().atMost(WAIT));
        assertEquals(sha256(bytes), sha256(readAll("big/one-chunk.bin", 0, bytes.length)));
    }

    @Test
    void deleteIsIdempotent() {
        store.put("d/0.png", "image/png", chunks(new byte[] {9, 9}, 1)).await().atMost(WAIT);
        store.delete("d/0.png").await().atMost(WAIT);
        assertNull(store.stat("d/0.png").await().atMost(WAIT));
        store.delete("d/0.png").await().atMost(WAIT);
        store.delete("never/existed.png").await().atMost(WAIT);
    }

    @Test
    void readOfMissingKeyFails() {
        assertThrows(RuntimeException.class,
                () -> store.read("missing/0.png", 0, 10).collect().asList().await().atMost(WAIT));
    }

    @Test
    void invalidArgumentsAreRejected() {
        assertThrows(IllegalArgumentException.class,
                () -> store.put(null, "image/png", chunks(new byte[] {1}, 1)).await().atMost(WAIT));
        assertThrows(IllegalArgumentException.class, () -> store.stat("").await().atMost(WAIT));
        assertThrows(IllegalArgumentException.class, () -> store.read("a.png", -1, 1).collect().asList().await().atMost(WAIT));
        assertThrows(IllegalArgumentException.class, () -> store.read("a.png", 0, -1).collect().asList().await().atMost(WAIT));
        assertThrows(IllegalArgumentException.class, () -> store.delete("").await().atMost(WAIT));
    }

    @Test
    void fiftyMegabytesStreamThroughWithBoundedDemandAndHeap() throws Exception {
        int chunkSize = 64 * 1024;
        int chunkCount = 800; // 50 MiB
        byte[] pattern = randomBytes(chunkSize, 7);
        AtomicLong requested = new AtomicLong();
        AtomicLong emitted = new AtomicLong();
        AtomicLong maxOutstanding = new AtomicLong();
        AtomicLong maxHeapGrowth = new AtomicLong();
        MessageDigest expected = MessageDigest.getInstance("SHA-256");
        long baseline = liveHeap();
        Multi<Buffer> body = Multi.createFrom().range(0, chunkCount)
                .onRequest().invoke(n -> requested.set(Math.min(Long.MAX_VALUE / 2, requested.get() + n)))
                .map(i -> {
                    if (i == 600 || i == chunkCount - 10) {
                        // Had the store kept the body, 37 or 49 MiB of it would be live now.
                        maxHeapGrowth.accumulateAndGet(liveHeap() - baseline, Math::max);
                    }
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
        assertTrue(maxHeapGrowth.get() < 32L * MIB,
                "the live heap grew by " + maxHeapGrowth.get() / MIB + " MiB while storing 50 MiB");
        assertEquals(List.of(), pendingUploads());

        MessageDigest actual = MessageDigest.getInstance("SHA-256");
        AtomicLong read = new AtomicLong();
        AtomicLong maxReadHeapGrowth = new AtomicLong();
        long readBaseline = liveHeap();
        store.read("big/0.bin", 0, written)
                .onItem().invoke(b -> {
                    actual.update(b.getBytes());
                    long before = read.get();
                    long after = read.addAndGet(b.length());
                    if (before < 40L * MIB && after >= 40L * MIB) {
                        maxReadHeapGrowth.set(liveHeap() - readBaseline);
                    }
                })
                .collect().last().await().atMost(Duration.ofMinutes(2));
        assertEquals(written, read.get());
        assertEquals(HexFormat.of().formatHex(expected.digest()), HexFormat.of().formatHex(actual.digest()));
        assertTrue(maxReadHeapGrowth.get() < 32L * MIB,
                "the live heap grew by " + maxReadHeapGrowth.get() / MIB + " MiB while reading 50 MiB");
    }

    @Test
    void finishedPutsHoldNoMemory() {
        int puts = 8;
        int size = partSize() - 1; // the largest body sent in one piece
        long baseline = liveHeap();
        List<Uni<Long>> all = new ArrayList<>();
        for (int i = 0; i < puts; i++) {
            all.add(store.put("m/" + i + ".bin", "application/octet-stream", patterned(size, 64 * 1024)));
        }
        List<Long> written = Uni.join().all(all).andFailFast().await().atMost(Duration.ofMinutes(1));
        assertEquals(Collections.nCopies(puts, (long) size), written);
        long growth = liveHeap() - baseline;
        // Had each finished put kept its body (an S3 connection may hold on to its last request), that would be 40 MiB.
        assertTrue(growth < 16L * MIB, "the live heap grew by " + growth / MIB + " MiB after " + puts + " finished puts");
        assertEquals(size, store.stat("m/7.bin").await().atMost(WAIT).size());
    }

    @Test
    void cancellingAReadStopsIt() {
        byte[] bytes = randomBytes(1_000_000, 8);
        store.put("p/0.bin", null, chunks(bytes, 65536)).await().atMost(WAIT);
        Buffer first = store.read("p/0.bin", 0, bytes.length).toUni().await().atMost(WAIT);
        assertTrue(first.length() > 0 && first.length() <= bytes.length);
        assertArrayEquals(Arrays.copyOf(bytes, first.length()), first.getBytes());
        // the store still serves reads afterwards
        assertArrayEquals(bytes, readAll("p/0.bin", 0, bytes.length));
    }

    @Test
    void callbacksComeBackOnTheCallersVertxContext() throws Exception {
        byte[] bytes = randomBytes(partSize() + 50_000, 12);
        Context context = vertx.getDelegate().getOrCreateContext();
        CompletableFuture<Boolean> putOnContext = new CompletableFuture<>();
        context.runOnContext(ignored -> store.put("ctx/0.bin", "image/png", chunks(bytes, 64 * 1024))
                .subscribe().with(n -> putOnContext.complete(io.vertx.core.Vertx.currentContext() == context),
                        putOnContext::completeExceptionally));
        assertTrue(putOnContext.get(WAIT.toSeconds(), TimeUnit.SECONDS), "put completed off its context");

        CompletableFuture<Boolean> statOnContext = new CompletableFuture<>();
        context.runOnContext(ignored -> store.stat("ctx/0.bin")
                .subscribe().with(s -> statOnContext.complete(io.vertx.core.Vertx.currentContext() == context),
                        statOnContext::completeExceptionally));
        assertTrue(statOnContext.get(WAIT.toSeconds(), TimeUnit.SECONDS), "stat completed off its context");

        AtomicBoolean allOnContext = new AtomicBoolean(true);
        AtomicLong received = new AtomicLong();
        CompletableFuture<Void> readDone = new CompletableFuture<>();
        context.runOnContext(ignored -> store.read("ctx/0.bin", 0, bytes.length)
                .subscribe().with(b -> {
                    received.addAndGet(b.length());
                    if (io.vertx.core.Vertx.currentContext() != context) {
                        allOnContext.set(false);
                    }
                }, readDone::completeExceptionally, () -> readDone.complete(null)));
        readDone.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertEquals(bytes.length, received.get());
        assertTrue(allOnContext.get(), "read delivered bytes off its context");
    }

    // ---------------------------------------------------------------- helpers

    protected byte[] readAll(String key, long offset, long length) {
        List<Buffer> parts = store.read(key, offset, length).collect().asList().await().atMost(WAIT);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        parts.forEach(b -> out.writeBytes(b.getBytes()));
        return out.toByteArray();
    }

    static Multi<Buffer> chunks(byte[] bytes, int size) {
        int count = (bytes.length + size - 1) / size;
        return Multi.createFrom().range(0, count)
                .map(i -> Buffer.buffer(Arrays.copyOfRange(bytes, i * size, Math.min(bytes.length, (i + 1) * size))));
    }

    /** {@code size} bytes made chunk by chunk as they are requested, so that the test itself holds none of them. */
    static Multi<Buffer> patterned(int size, int chunkSize) {
        int count = (size + chunkSize - 1) / chunkSize;
        return Multi.createFrom().range(0, count).map(i -> {
            byte[] chunk = new byte[Math.min(chunkSize, size - i * chunkSize)];
            Arrays.fill(chunk, (byte) i.intValue());
            return Buffer.buffer(chunk);
        });
    }

    static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Heap in use after a full collection: what is really held, not garbage. */
    private static long liveHeap() {
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
