package dev.imagegen.storage;

import java.util.Locale;

import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import io.quarkus.runtime.Startup;
import io.vertx.mutiny.core.Vertx;

import org.jboss.logging.Logger;

import dev.imagegen.config.ImagegenConfig;

/**
 * Wires the store chosen by {@code imagegen.storage.backend}. The downloader that fills it is wired by
 * the worker ({@code worker.OutputDownloaderBeans}): storage knows nothing of the worker.
 */
public class StorageBeans {

    private static final Logger LOG = Logger.getLogger(StorageBeans.class);

    /** Built at startup, so that a wrong backend or a missing bucket stops the service at once. */
    @Produces
    @Singleton
    @Startup
    ImageStore imageStore(Vertx vertx, ImagegenConfig config) {
        return create(vertx, config.storage());
    }

    /** Closes the S3 clients (connections, event loop threads) on shutdown. */
    void close(@Disposes ImageStore store) {
        if (store instanceof AutoCloseable closeable) {
            try {
                closeable.close();
            } catch (Exception e) {
                LOG.warnf("closing the image store failed: %s", e.toString());
            }
        }
    }

    /**
     * The store for {@code storage}: {@code filesystem} or {@code s3}.
     *
     * @throws IllegalStateException naming the environment variable to fix when the settings are unusable
     */
    static ImageStore create(Vertx vertx, ImagegenConfig.Storage storage) {
        String backend = storage.backend() == null ? "" : storage.backend().strip().toLowerCase(Locale.ROOT);
        switch (backend) {
            case "filesystem":
                LOG.infof("image storage: filesystem folder %s", storage.dir());
                return new FilesystemImageStore(vertx, storage.dir());
            case "s3":
                return s3(storage.s3());
            default:
                throw new IllegalStateException("IMAGEGEN_STORAGE_BACKEND='" + storage.backend()
                        + "' is not a storage backend: use filesystem or s3");
        }
    }

    private static S3ImageStore s3(ImagegenConfig.Storage.S3 s3) {
        String bucket = s3.bucket().map(String::strip).filter(b -> !b.isEmpty()).orElseThrow(() ->
                new IllegalStateException("IMAGEGEN_STORAGE_S3_BUCKET is required when IMAGEGEN_STORAGE_BACKEND=s3"));
        S3ImageStore store;
        try {
            store = S3ImageStore.create(new S3ImageStore.Settings(bucket, s3.region(), s3.endpoint(), s3.pathStyle(),
                    s3.presign(), s3.partSize().asLongValue(), null));
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
        LOG.infof("image storage: S3 bucket %s in %s%s%s, %d-byte parts, %s image links", bucket, s3.region(),
                s3.endpoint().map(uri -> " at " + uri).orElse(""), s3.pathStyle() ? " (path-style)" : "",
                store.partSize(), s3.presign() ? "presigned" : "service-signed");
        return store;
    }
}
