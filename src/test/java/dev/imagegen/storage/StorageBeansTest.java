package dev.imagegen.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imagegen.config.ImagegenConfig;
import io.smallrye.config.EnvConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.vertx.mutiny.core.Vertx;
import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The storage settings as operators write them (environment variables) and the store each backend
 * yields, without starting Quarkus. No S3 call is made: building a client opens no connection, and the
 * credentials come from system properties (instance metadata is switched off, so nothing leaves the machine).
 */
class StorageBeansTest {

    private static final Map<String, String> SAVED = new HashMap<>();

    private Vertx vertx;

    @BeforeAll
    static void offlineCredentials() {
        for (String key : new String[] {"aws.accessKeyId", "aws.secretAccessKey", "aws.disableEc2Metadata"}) {
            SAVED.put(key, System.getProperty(key));
        }
        System.setProperty("aws.accessKeyId", "test-access-key");
        System.setProperty("aws.secretAccessKey", "test-secret-key");
        System.setProperty("aws.disableEc2Metadata", "true");
    }

    @AfterAll
    static void restoreProperties() {
        SAVED.forEach((key, value) -> {
            if (value == null) {
                System.clearProperty(key);
            } else {
                System.setProperty(key, value);
            }
        });
    }

    @BeforeEach
    void setUp() {
        vertx = Vertx.vertx();
    }

    @AfterEach
    void tearDown() {
        vertx.close().await().atMost(Duration.ofSeconds(30));
    }

    @Test
    void s3SettingsHaveDocumentedDefaults() {
        ImagegenConfig.Storage storage = config(Map.of()).storage();
        assertEquals("filesystem", storage.backend());
        ImagegenConfig.Storage.S3 s3 = storage.s3();
        assertEquals(Optional.empty(), s3.bucket());
        assertEquals("us-east-1", s3.region());
        assertEquals(Optional.empty(), s3.endpoint());
        assertFalse(s3.pathStyle());
        assertTrue(s3.presign());
        assertEquals(8L * 1024 * 1024, s3.partSize().asLongValue());
    }

    @Test
    void s3SettingsComeFromTheirEnvironmentVariables() {
        ImagegenConfig.Storage.S3 s3 = config(Map.of(
                "IMAGEGEN_STORAGE_BACKEND", "s3",
                "IMAGEGEN_STORAGE_S3_BUCKET", "my-images",
                "IMAGEGEN_STORAGE_S3_REGION", "eu-central-1",
                "IMAGEGEN_STORAGE_S3_ENDPOINT", "http://127.0.0.1:9000",
                "IMAGEGEN_STORAGE_S3_PATH_STYLE", "true",
                "IMAGEGEN_STORAGE_S3_PRESIGN", "false",
                "IMAGEGEN_STORAGE_S3_PART_SIZE", "16M")).storage().s3();
        assertEquals(Optional.of("my-images"), s3.bucket());
        assertEquals("eu-central-1", s3.region());
        assertEquals(Optional.of(URI.create("http://127.0.0.1:9000")), s3.endpoint());
        assertTrue(s3.pathStyle());
        assertFalse(s3.presign());
        assertEquals(16L * 1024 * 1024, s3.partSize().asLongValue());
    }

    @Test
    void filesystemBackendGivesTheFilesystemStore() {
        ImageStore store = StorageBeans.create(vertx, config(Map.of("IMAGEGEN_STORAGE_DIR", "target/x")).storage());
        assertInstanceOf(FilesystemImageStore.class, store);
    }

    @Test
    void s3BackendGivesTheS3Store() {
        ImageStore store = StorageBeans.create(vertx, config(Map.of(
                "IMAGEGEN_STORAGE_BACKEND", "s3",
                "IMAGEGEN_STORAGE_S3_BUCKET", "my-images",
                "IMAGEGEN_STORAGE_S3_ENDPOINT", "http://127.0.0.1:9000",
                "IMAGEGEN_STORAGE_S3_PATH_STYLE", "true")).storage());
        try {
            S3ImageStore s3 = assertInstanceOf(S3ImageStore.class, store);
            assertEquals("my-images", s3.bucket());
            assertEquals(8 * 1024 * 1024, s3.partSize());
            String url = s3.publicUrl("generations/g/0.png", Duration.ofHours(2)).orElseThrow();
            assertTrue(url.startsWith("http://127.0.0.1:9000/my-images/generations/g/0.png?"), url);
            assertTrue(url.contains("X-Amz-Expires=7200"), url);
        } finally {
            new StorageBeans().close(store);
        }
    }

    @Test
    void presignCanBeTurnedOff() {
        ImageStore store = StorageBeans.create(vertx, config(Map.of(
                "IMAGEGEN_STORAGE_BACKEND", "s3",
                "IMAGEGEN_STORAGE_S3_BUCKET", "my-images",
                "IMAGEGEN_STORAGE_S3_PRESIGN", "false")).storage());
        try {
            assertTrue(store.publicUrl("generations/g/0.png", Duration.ofHours(1)).isEmpty());
        } finally {
            new StorageBeans().close(store);
        }
    }

    @Test
    void unknownBackendIsAClearError() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> StorageBeans.create(vertx, config(Map.of("IMAGEGEN_STORAGE_BACKEND", "gcs")).storage()));
        assertTrue(e.getMessage().contains("IMAGEGEN_STORAGE_BACKEND='gcs'"), e.getMessage());
        assertTrue(e.getMessage().contains("filesystem or s3"), e.getMessage());
    }

    @Test
    void s3WithoutBucketIsAClearError() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> StorageBeans.create(vertx, config(Map.of("IMAGEGEN_STORAGE_BACKEND", "s3")).storage()));
        assertTrue(e.getMessage().contains("IMAGEGEN_STORAGE_S3_BUCKET"), e.getMessage());
    }

    @Test
    void s3PartSizeOutOfRangeIsAClearError() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> StorageBeans.create(vertx, config(Map.of(
                "IMAGEGEN_STORAGE_BACKEND", "s3",
                "IMAGEGEN_STORAGE_S3_BUCKET", "b",
                "IMAGEGEN_STORAGE_S3_PART_SIZE", "1M")).storage()));
        assertTrue(e.getMessage().contains("IMAGEGEN_STORAGE_S3_PART_SIZE"), e.getMessage());
    }

    @Test
    void s3EndpointMustBeAnHttpUrl() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> StorageBeans.create(vertx, config(Map.of(
                "IMAGEGEN_STORAGE_BACKEND", "s3",
                "IMAGEGEN_STORAGE_S3_BUCKET", "b",
                "IMAGEGEN_STORAGE_S3_ENDPOINT", "minio:9000")).storage()));
        assertTrue(e.getMessage().contains("IMAGEGEN_STORAGE_S3_ENDPOINT"), e.getMessage());
    }

    private static ImagegenConfig config(Map<String, String> env) {
        SmallRyeConfig config = new SmallRyeConfigBuilder()
                .addDefaultInterceptors()
                .addDiscoveredConverters()
                .withSources(new EnvConfigSource(env, 300))
                .withMapping(ImagegenConfig.class)
                .build();
        return config.getConfigMapping(ImagegenConfig.class);
    }
}
