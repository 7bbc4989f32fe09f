package dev.imagegen.worker;

import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import io.vertx.mutiny.core.Vertx;

import dev.imagegen.config.ImagegenConfig;
import dev.imagegen.storage.ImageStore;

/**
 * Wires the downloader that fills the image store. It lives here, not in {@code storage}, so that
 * the dependency runs one way: the worker uses storage, storage knows nothing of the worker.
 */
public class OutputDownloaderBeans {

    @Produces
    @Singleton
    OutputDownloader downloader(Vertx vertx, ImageStore store, ImagegenConfig config) {
        return new OutputDownloader(vertx, store, config.replicate().allowedOutputHosts(), config.download().maxBytes(),
                config.download().readTimeout());
    }
}
