package dev.imagegen.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.imagegen.storage.ImageStore.StoredObject;
import io.vertx.mutiny.core.Vertx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/**
 * The storage contract on {@link S3ImageStore} against a real S3-compatible server (S3Proxy, started
 * once for the class on 127.0.0.1, see {@link S3ProxyServer}), one new bucket per test. After every
 * test no multipart upload may be left incomplete.
 */
class S3ImageStoreContractTest extends ImageStoreContractTest {

    private static final int PART_SIZE = S3ImageStore.MIN_PART_SIZE;
    private static final AtomicInteger BUCKETS = new AtomicInteger();
    private static final StaticCredentialsProvider CREDENTIALS = StaticCredentialsProvider.create(
            AwsBasicCredentials.create(S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY));

    @TempDir
    static Path serverDir;

    private static S3ProxyServer server;
    private static S3AsyncClient client;
    private static S3Presigner presigner;

    private String bucket;

    @BeforeAll
    static void startServer() throws Exception {
        server = S3ProxyServer.start(serverDir.resolve("data"));
        client = S3AsyncClient.builder()
                .endpointOverride(server.endpoint())
                .region(Region.US_EAST_1)
                .credentialsProvider(CREDENTIALS)
                .forcePathStyle(true)
                .build();
        presigner = S3Presigner.builder()
                .endpointOverride(server.endpoint())
                .region(Region.US_EAST_1)
                .credentialsProvider(CREDENTIALS)
                .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(true).build())
                .build();
    }

    @AfterAll
    static void stopServer() {
        if (presigner != null) {
            presigner.close();
        }
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @Override
    protected ImageStore createStore(Vertx vertx) {
        bucket = "images-" + BUCKETS.incrementAndGet();
        client.createBucket(r -> r.bucket(bucket)).join();
        return new S3ImageStore(client, presigner, bucket, PART_SIZE);
    }

    /** Incomplete multipart uploads in the test's bucket. */
    @Override
    protected List<String> pendingUploads() {
        return client.listMultipartUploads(r -> r.bucket(bucket)).join().uploads().stream()
                .map(u -> u.key() + " " + u.uploadId())
                .toList();
    }

    @Override
    protected int partSize() {
        return PART_SIZE;
    }

    @AfterEach
    void noIncompleteMultipartUploadIsLeft() {
        assertEquals(List.of(), pendingUploads());
    }

    @Test
    void presignedUrlServesTheBytesToAPlainHttpClient() throws Exception {
        byte[] bytes = randomBytes(300_000, 21);
        store.put("generations/g/0.webp", "image/webp", chunks(bytes, 16_384)).await().atMost(WAIT);

        Optional<String> url = store.publicUrl("generations/g/0.webp", Duration.ofHours(1));
        assertTrue(url.isPresent());
        assertTrue(url.get().startsWith(server.endpoint() + "/" + bucket + "/generations/g/0.webp?"), url.get());

        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        HttpResponse<byte[]> ok = http.send(HttpRequest.newBuilder(URI.create(url.get())).timeout(WAIT).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, ok.statusCode());
        assertArrayEquals(bytes, ok.body());
        assertEquals("image/webp", ok.headers().firstValue("Content-Type").orElse(""));

        // the signature covers the key: the same query on another key is refused
        store.put("generations/g/1.webp", "image/webp", chunks(new byte[] {1}, 1)).await().atMost(WAIT);
        String other = url.get().replace("/0.webp?", "/1.webp?");
        HttpResponse<byte[]> forged = http.send(HttpRequest.newBuilder(URI.create(other)).timeout(WAIT).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(403, forged.statusCode());
    }

    @Test
    void presignedUrlLifetimeIsCappedAtSevenDays() {
        String url = ((S3ImageStore) store).presignedGetUrl("k.png", Duration.ofDays(30)).orElseThrow();
        assertTrue(url.contains("X-Amz-Expires=604800"), url);
    }

    @Test
    void withoutPresignerThereIsNoPublicUrl() {
        S3ImageStore plain = new S3ImageStore(client, null, bucket, PART_SIZE);
        assertTrue(plain.publicUrl("k.png", Duration.ofHours(1)).isEmpty());
    }

    @Test
    void storeBuiltFromSettingsWorksAndCloses() {
        S3ImageStore built = S3ImageStore.create(new S3ImageStore.Settings(bucket, "eu-west-1",
                Optional.of(server.endpoint()), true, true, 6L * MIB, CREDENTIALS));
        try {
            byte[] bytes = randomBytes(7 * MIB, 22);
            assertEquals(bytes.length, built.put("s/0.bin", "image/png", chunks(bytes, 65_536)).await().atMost(WAIT));
            assertEquals(new StoredObject("s/0.bin", bytes.length, "image/png"), built.stat("s/0.bin").await().atMost(WAIT));
            assertEquals(sha256(bytes), sha256(readAll("s/0.bin", 0, bytes.length)));
            assertTrue(built.publicUrl("s/0.bin", Duration.ofMinutes(5)).isPresent());
        } finally {
            built.close();
        }
    }

    @Test
    void partSizesOutsideS3LimitsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new S3ImageStore(client, null, bucket, 1024 * 1024));
        assertThrows(IllegalArgumentException.class, () -> S3ImageStore.create(new S3ImageStore.Settings(bucket,
                "us-east-1", Optional.empty(), false, false, 1024L * MIB, CREDENTIALS)));
        assertThrows(IllegalArgumentException.class, () -> new S3ImageStore(client, null, " ", PART_SIZE));
    }

    @Test
    void aFailingS3CallFailsThePutAndLeavesNothing() {
        // a bucket that does not exist: CreateMultipartUpload is refused once the first part is full
        S3ImageStore missing = new S3ImageStore(client, null, "no-such-bucket-" + bucket, PART_SIZE);
        byte[] bytes = randomBytes(PART_SIZE + 10, 23);
        assertThrows(RuntimeException.class,
                () -> missing.put("x/0.bin", null, chunks(bytes, 65_536)).await().atMost(WAIT));
        assertNull(store.stat("x/0.bin").await().atMost(WAIT));
    }
}
