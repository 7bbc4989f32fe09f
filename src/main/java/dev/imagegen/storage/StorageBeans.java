package dev.imagegen.storage;

import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import io.vertx.mutiny.core.Vertx;

import dev.imagegen.config.ImagegenConfig;
import dev.imagegen.worker.OutputDownloader;

/** Wires the store chosen by {@code imagegen.storage.backend} and the downloader that fills it. */
public class StorageBeans {

    @Produces
    @Singleton
    ImageStore imageStore(Vertx vertx, ImagegenConfig config) {
        String backend = config.storage().backend();
        if (!"filesystem".equals(backend)) {
            throw new IllegalStateException("IMAGEGEN_STORAGE_BACKEND=" + backend + " is not available; use filesystem");
        }
        return new FilesystemImageStore(vertx, config.storage().dir());
    }

    @Produces
    @Singleton
    OutputDownloader downloader(Vertx vertx, ImageStore store, ImagegenConfig config) {
        return new OutputDownloader(vertx, store, config.replicate().allowedOutputHosts(), config.download().maxBytes(),
                config.download().readTimeout());
    }
}
