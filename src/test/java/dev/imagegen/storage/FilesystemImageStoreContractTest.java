package dev.imagegen.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imagegen.storage.ImageStore.StoredObject;
import io.vertx.mutiny.core.Vertx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The storage contract on {@link FilesystemImageStore}, plus what is particular to files: the content-type
 * sidecar, keys that could escape the root, temporary files.
 */
class FilesystemImageStoreContractTest extends ImageStoreContractTest {

    @TempDir
    Path dir;

    @Override
    protected ImageStore createStore(Vertx vertx) {
        return new FilesystemImageStore(vertx, dir.toString());
    }

    /** Bodies being written, under {@code <root>/.tmp}. */
    @Override
    protected List<String> pendingUploads() {
        Path tmp = dir.resolve(FilesystemImageStore.TMP_DIR);
        if (!Files.isDirectory(tmp)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(tmp)) {
            return files.map(Path::toString).toList();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The filesystem store has no parts; the sizes S3 splits at exercise it just as well. */
    @Override
    protected int partSize() {
        return 5 * MIB;
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

    @Override
    @Test
    void failedBodyLeavesNoObjectAndNoTempFile() {
        super.failedBodyLeavesNoObjectAndNoTempFile();
        assertFalse(Files.exists(dir.resolve("f/0.png")));
    }

    @Override
    @Test
    void deleteIsIdempotent() {
        super.deleteIsIdempotent();
        assertFalse(Files.exists(dir.resolve("d/0.png")));
        assertFalse(Files.exists(dir.resolve("d/0.png.meta")));
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
    void hasNoPublicUrl() {
        store.put("u/0.png", "image/png", chunks(new byte[] {1}, 1)).await().atMost(WAIT);
        assertTrue(store.publicUrl("u/0.png", Duration.ofHours(1)).isEmpty());
    }
}
