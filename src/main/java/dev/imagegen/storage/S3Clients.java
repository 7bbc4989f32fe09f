package dev.imagegen.storage;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.jboss.logging.Logger;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3AsyncClientBuilder;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/**
 * Builds the S3 store's SDK objects from its {@link S3ImageStore.Settings}: the async client on the
 * SDK's Netty HTTP client (64 connections), the presigner when asked for, and the default credentials
 * chain (refreshed in the background) when none is given. Settings that cannot work are refused with an
 * {@link IllegalArgumentException} naming the environment variable to fix.
 */
final class S3Clients {

    private static final Logger LOG = Logger.getLogger(S3ImageStore.class); // the store's log category

    /** What was built; {@code owned} is closed by the store, in this order. */
    record Built(S3AsyncClient client, S3Presigner presigner, List<AutoCloseable> owned) {
    }

    private S3Clients() {
    }

    static Built build(S3ImageStore.Settings settings) {
        Objects.requireNonNull(settings, "settings");
        if (settings.partSize() < S3ImageStore.MIN_PART_SIZE || settings.partSize() > S3ImageStore.MAX_PART_SIZE) {
            throw new IllegalArgumentException("IMAGEGEN_STORAGE_S3_PART_SIZE must be between 5M and 512M, not "
                    + settings.partSize() + " bytes");
        }
        if (settings.region() == null || settings.region().isBlank()) {
            throw new IllegalArgumentException("IMAGEGEN_STORAGE_S3_REGION must not be blank");
        }
        settings.endpoint().ifPresent(uri -> {
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
                throw new IllegalArgumentException("IMAGEGEN_STORAGE_S3_ENDPOINT must be an http(s) URL such as "
                        + "https://minio.example.com:9000, not '" + uri + "'");
            }
        });
        AwsCredentialsProvider credentials = settings.credentials();
        DefaultCredentialsProvider chain = null;
        if (credentials == null) {
            chain = DefaultCredentialsProvider.builder().asyncCredentialUpdateEnabled(true).build();
            credentials = chain;
            // Resolve once now, on the starting thread: the first lookup may call an STS, container or
            // instance endpoint, and from then on refreshes happen in the background.
            try {
                chain.resolveCredentials();
            } catch (RuntimeException e) {
                LOG.warnf("no AWS credentials found yet (S3 calls will fail until there are): %s", e.getMessage());
            }
        }
        Region region = Region.of(settings.region().strip());
        S3AsyncClientBuilder builder = S3AsyncClient.builder()
                .region(region)
                .credentialsProvider(credentials)
                .forcePathStyle(settings.pathStyle())
                // Closed with the S3 client. 64 connections: one upload per job in flight (32 by default)
                // plus image reads; a call that finds none free within 10 s fails (a transient error).
                .httpClientBuilder(NettyNioAsyncHttpClient.builder()
                        .maxConcurrency(64)
                        .connectionAcquisitionTimeout(Duration.ofSeconds(10)));
        settings.endpoint().ifPresent(builder::endpointOverride);
        S3AsyncClient client = builder.build();

        S3Presigner presigner = null;
        if (settings.presign()) {
            S3Presigner.Builder presign = S3Presigner.builder()
                    .region(region)
                    .credentialsProvider(credentials)
                    .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(settings.pathStyle()).build());
            settings.endpoint().ifPresent(presign::endpointOverride);
            presigner = presign.build();
        }
        List<AutoCloseable> owned = new ArrayList<>();
        owned.add(client);
        if (presigner != null) {
            owned.add(presigner);
        }
        if (chain != null) {
            owned.add(chain);
        }
        return new Built(client, presigner, List.copyOf(owned));
    }
}
