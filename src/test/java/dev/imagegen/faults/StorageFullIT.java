package dev.imagegen.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import org.awaitility.Awaitility;
import org.jboss.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.imagegen.testsupport.FakeReplicate;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * Case 7: the filesystem store full (a real ENOSPC) or unwritable (a real EROFS) in the middle of downloads.
 * The packaged service runs in a user and mount namespace of its own
 * ({@code unshare -Urm sh -c 'mount -t tmpfs -o size=4m tmpfs DIR && exec java …'}) with its store on that
 * 4 MiB tmpfs; the test sees the store through {@code /proc/PID/root} and mounts a read-only file system over it with
 * {@code nsenter}, or hides it under a read-only one. Checked: every generation ends completed or failed with a readable message; no file
 * appears under a key unless it is whole (sampled every 20 ms, and at the end by size and SHA-256); nothing is
 * linked in the API for a failed one; the temporary files are gone and the space is free again afterwards.
 */
class StorageFullIT {

    private static final Logger LOG = Logger.getLogger(StorageFullIT.class);
    private static final long TMPFS_BYTES = 4L * 1024 * 1024;

    private FakeReplicate fake;
    private FaultDatabase db;
    private PackagedService service;
    private Path mount;

    @BeforeEach
    void start() throws IOException {
        fake = FakeReplicate.start(Duration.ofMillis(200));
        db = new FaultDatabase();
        mount = Path.of("target", "faults", "tmpfs-" + db.name).toAbsolutePath();
        Files.createDirectories(mount);
    }

    @AfterEach
    void stop() {
        if (service != null) {
            service.close();
        }
        fake.close();
        db.close();
    }

    @Test
    void fullOrUnwritableStoreRetriesOrFailsClearlyAndNeverKeepsAPartialFile() throws Exception {
        String storeDir = mount.resolve("images").toString();
        Map<String, String> env = FaultCase.env(db, fake, 8, storeDir);
        env.put("IMAGEGEN_DOWNLOAD_MAX_BYTES", Long.toString(64L * 1024 * 1024));
        env.put("IMAGEGEN_JOBS_MAX_ATTEMPTS", "4");
        // Abandoned temporary files (untouched for twice the read timeout) are swept every second.
        env.put("IMAGEGEN_DOWNLOAD_READ_TIMEOUT", "2s");
        env.put("IMAGEGEN_STORAGE_TMP_SWEEP_INTERVAL", "1s");
        service = PackagedService.start(env, "storage-full", PackagedService.pickPort(), java -> List.of("unshare", "-Urm", "sh", "-c",
                "mount -t tmpfs -o size=" + TMPFS_BYTES + " tmpfs '" + mount + "' && mkdir '" + storeDir + "' && exec \"$@\"", "sh",
                java.get(0), java.get(1), java.get(2), java.get(3)));
        Path store = Path.of("/proc", Long.toString(service.pid()), "root").resolve(storeDir.substring(1));
        assertTrue(Files.isDirectory(store), "the store is not visible at " + store);
        String user = FaultCase.user("storage");

        // --- A: ENOSPC. Each output is 6 MiB (a PNG, then zeros), on a 4 MiB file system: every write runs out of space.
        fake.oversizeDownloads(6L * 1024 * 1024);
        List<String> full = enqueue(user, 3, "fills the disk");
        AtomicInteger partialSeen = new AtomicInteger();
        long maxUsed = watchUntilTerminal(store, full, partialSeen, Duration.ofSeconds(90), false);
        List<String> fullErrors = db.strings("SELECT error_message FROM image_generations WHERE status = 'failed'");
        assertEquals(3, fullErrors.size(), "every generation of a full disk fails: " + fullErrors);
        fullErrors.forEach(m -> assertTrue(FaultCase.readable(m) && m.contains("could not be stored"), m));
        assertEquals(0, partialSeen.get(), "a file appeared under a key while the disk was full");
        for (String id : full) {
            assertEquals(0, images(user, id).size(), "a failed generation links an image");
        }
        assertTrue(maxUsed >= TMPFS_BYTES / 2, "the disk never filled: at most " + maxUsed + " bytes");
        Awaitility.await("space reclaimed after ENOSPC").atMost(Duration.ofSeconds(10)).until(() -> usedBytes(store) == 0);
        long attemptsFull = db.number("SELECT sum(attempt_number) FROM job_queue");

        // --- B: the space is usable again: new generations complete, whole.
        fake.oversizeDownloads(0);
        List<String> after = enqueue(user, 3, "after the full disk");
        watchUntilTerminal(store, after, partialSeen, Duration.ofSeconds(60), true);
        assertEquals(3, db.number("SELECT count(*) FROM image_generations WHERE status = 'completed'"));
        assertEquals(3, wholeFiles(store));

        // --- C: EROFS. Downloads drip for ~2.4 s; once some are being written, the file system turns read-only
        // until an attempt has failed on it, then writable again.
        fake.dripDownloads(8, Duration.ofMillis(300));
        List<String> unwritable = enqueue(user, 4, "read-only");
        Awaitility.await("downloads being written").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20))
                .until(() -> tmpFiles(store) >= 1);
        // A tmpfs cannot be remounted read-only while files are open for writing, so the storage folder is
        // replaced instead: a read-only file system is mounted over it (as when a volume is swapped under a
        // running pod), and taken away again.
        nsenter("mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", storeDir);
        long roAt = System.nanoTime();
        try {
            Awaitility.await("an attempt failed on the read-only store").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                    .until(() -> db.number("SELECT count(*) FROM job_queue WHERE error_message LIKE '%could not be stored%' "
                            + "AND status <> 'completed'") >= 1);
            // Long enough for the downloads that were being written when the folder was replaced to end on it.
            long left = TimeUnit.MILLISECONDS.toNanos(3000) - (System.nanoTime() - roAt);
            if (left > 0) {
                TimeUnit.NANOSECONDS.sleep(left);
            }
        } finally {
            nsenter("umount", storeDir);
        }
        double roSeconds = (System.nanoTime() - roAt) / 1e9;
        watchUntilTerminal(store, unwritable, partialSeen, Duration.ofSeconds(90), true);
        long completedC = db.number("SELECT count(*) FROM image_generations WHERE status = 'completed' AND prompt LIKE 'read-only%'");
        List<String> failedC = db.strings("SELECT error_message FROM image_generations WHERE status = 'failed' AND prompt LIKE 'read-only%'");
        failedC.forEach(m -> assertTrue(FaultCase.readable(m), m));
        assertEquals(4, completedC + failedC.size());
        assertEquals(0, partialSeen.get(), "a partial file appeared under a key");
        assertEquals(3 + completedC, wholeFiles(store), "stored files are whole");
        long leftAtEnd = tmpFiles(store);
        long swept = System.nanoTime();
        Awaitility.await("no temporary file left after EROFS").atMost(Duration.ofSeconds(20)).until(() -> tmpFiles(store) == 0);
        double sweptSeconds = (System.nanoTime() - swept) / 1e9;
        assertEquals(0, usedBytes(store));
        long retriedC = db.number("SELECT count(*) FROM job_queue j JOIN image_generations g ON g.id = j.generation_id "
                + "WHERE g.prompt LIKE 'read-only%' AND j.attempt_number > 1");
        LOG.infof("FAULT storage: ENOSPC: 3/3 failed readably (%s), %d attempts, peak use %d of %d bytes, then 0; "
                + "after: 3/3 completed whole; folder replaced for %.1f s: %d/4 completed (%d retried), %d failed %s; %d temporary files left behind, swept in %.1f s; partial files seen: %d",
                fullErrors.get(0), attemptsFull, maxUsed, TMPFS_BYTES, roSeconds, completedC, retriedC, failedC.size(), failedC,
                leftAtEnd, sweptSeconds, partialSeen.get());
    }

    private List<String> enqueue(String user, int n, String prompt) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            HttpResponse<String> r = FaultCase.enqueue(service, user, prompt + " " + i).join();
            assertEquals(202, r.statusCode(), r.body());
            ids.add(new JsonObject(r.body()).getString("generation_id"));
        }
        return ids;
    }

    private JsonArray images(String user, String id) throws Exception {
        HttpResponse<String> r = FaultCase.get(service, user, "/v1/generations/" + id);
        assertEquals(200, r.statusCode(), r.body());
        JsonArray images = new JsonObject(r.body()).getJsonArray("images");
        return images == null ? new JsonArray() : images;
    }

    /**
     * Samples the store every 20 ms until every generation in {@code ids} is terminal: counts files under
     * {@code generations/} that are not whole PNGs while {@code expectFiles} is false (any file then is a
     * partial one); returns the peak bytes in use.
     */
    private long watchUntilTerminal(Path store, List<String> ids, AtomicInteger partialSeen, Duration max, boolean expectFiles)
            throws Exception {
        long peak = 0;
        long deadline = System.nanoTime() + max.toNanos();
        String list = "'" + String.join("','", ids) + "'";
        while (db.number("SELECT count(*) FROM image_generations WHERE id IN (" + list + ") AND status IN ('completed','failed')") < ids.size()) {
            assertTrue(System.nanoTime() < deadline, "not all terminal within " + max);
            peak = Math.max(peak, usedBytes(store));
            partialSeen.addAndGet(partialFiles(store, expectFiles));
            TimeUnit.MILLISECONDS.sleep(20);
        }
        return peak;
    }

    /** Files under a key that are not whole PNGs (when {@code onlyBroken}), or any file under a key. */
    private static int partialFiles(Path store, boolean onlyBroken) throws IOException {
        Path generations = store.resolve("generations");
        if (!Files.isDirectory(generations)) {
            return 0;
        }
        int bad = 0;
        try (Stream<Path> files = Files.walk(generations)) {
            for (Path p : files.filter(Files::isRegularFile).filter(p -> !p.toString().endsWith(".meta")).toList()) {
                if (!onlyBroken || !wholePng(p)) {
                    LOG.errorf("partial or unexpected file under a key: %s", p);
                    bad++;
                }
            }
        } catch (java.io.UncheckedIOException | java.nio.file.NoSuchFileException e) {
            // a file moved while walking: the next sample sees it
        }
        return bad;
    }

    private static boolean wholePng(Path p) {
        try {
            byte[] b = Files.readAllBytes(p);
            return b.length > 12 && new String(b, b.length - 8, 4, java.nio.charset.StandardCharsets.ISO_8859_1).equals("IEND");
        } catch (IOException e) {
            return true; // moved away meanwhile
        }
    }

    /** Stored images whose file has the size and SHA-256 recorded and is a whole PNG. */
    private long wholeFiles(Path store) throws Exception {
        long whole = 0;
        for (String row : db.strings("SELECT generation_id || '/' || output_index || ' ' || size_bytes || ' ' || sha256 FROM images")) {
            String[] f = row.split(" ");
            Path p = store.resolve("generations").resolve(f[0]);
            byte[] bytes = Files.readAllBytes(p);
            String sha = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
            if (bytes.length == Long.parseLong(f[1]) && sha.equals(f[2]) && wholePng(p)) {
                whole++;
            }
        }
        return whole;
    }

    private static long usedBytes(Path store) throws IOException {
        Path tmp = store.resolve(".tmp");
        if (!Files.isDirectory(tmp)) {
            return 0;
        }
        try (Stream<Path> files = Files.list(tmp)) {
            return files.mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (IOException e) {
                    return 0;
                }
            }).sum();
        }
    }

    private static long tmpFiles(Path store) throws IOException {
        Path tmp = store.resolve(".tmp");
        if (!Files.isDirectory(tmp)) {
            return 0;
        }
        try (Stream<Path> files = Files.list(tmp)) {
            return files.count();
        }
    }

    /** Runs {@code command} in the service's user and mount namespaces. */
    private void nsenter(String... command) throws Exception {
        List<String> line = new ArrayList<>(List.of("nsenter", "-t", Long.toString(service.pid()), "-U", "-m"));
        line.addAll(List.of(command));
        Process p = new ProcessBuilder(line).redirectErrorStream(true).start();
        assertTrue(p.waitFor(10, TimeUnit.SECONDS), "nsenter hung");
        assertEquals(0, p.exitValue(), new String(p.getInputStream().readAllBytes()));
    }
}
