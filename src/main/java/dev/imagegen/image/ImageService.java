package dev.imagegen.image;

import java.time.Instant;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.buffer.Buffer;

import dev.imagegen.api.ApiException;
import dev.imagegen.auth.Caller;
import dev.imagegen.storage.ImageStore;
import dev.imagegen.storage.ImageStore.StoredObject;

/**
 * Reading images: who may (the holder of a valid signed link, its owner, or an operator; anyone else gets
 * the same 404 as for an image that does not exist) and what the store holds for them. The resource only
 * turns the answer into HTTP (conditions, ranges, headers) and never reads the repository or the store.
 */
@ApplicationScoped
public class ImageService {

    private static final Logger LOG = Logger.getLogger(ImageService.class);

    @Inject
    ImageRepository images;

    @Inject
    ImageLinks links;

    @Inject
    ImageStore store;

    /** An image row and the stored object behind it (its size and stored type). */
    public record StoredImage(Image image, StoredObject stored) {
    }

    /** The image behind a signed link: 403 when the link is expired or forged, 404 when it is gone. */
    public Uni<StoredImage> bySignedLink(UUID id, String expires, String sig) {
        if (!links.verify(id, expires, sig)) {
            throw ApiException.forbidden(expired(expires)
                    ? "This image link has expired; GET /v1/generations/{id} gives a fresh one."
                    : "This image link is not valid (its signature does not match).");
        }
        return images.findWithOwner(id).flatMap(owned -> {
            if (owned == null) {
                throw ApiException.notFound("Image " + id);
            }
            return stored(owned.image());
        });
    }

    /** The image if {@code caller} owns it or is an operator; 404 otherwise. */
    public Uni<StoredImage> forCaller(UUID id, Caller caller) {
        return images.findWithOwner(id).flatMap(owned -> {
            if (owned == null || !(caller.operator() || owned.ownerId().equals(caller.userId()))) {
                throw ApiException.notFound("Image " + id);
            }
            return stored(owned.image());
        });
    }

    /** {@code length} bytes of the image from {@code offset}, back-pressured. */
    public Multi<Buffer> read(Image image, long offset, long length) {
        return store.read(image.storageKey(), offset, length);
    }

    /** The stored object of a readable image; a row whose object is gone is a 404 (and a warning). */
    private Uni<StoredImage> stored(Image image) {
        return store.stat(image.storageKey()).map(stored -> {
            if (stored == null) {
                LOG.warnf("Image %s (generation %s): object %s is missing from storage", image.id(),
                        image.generationId(), image.storageKey());
                throw ApiException.notFound("Image " + image.id());
            }
            return new StoredImage(image, stored);
        });
    }

    private static boolean expired(String expires) {
        try {
            return expires != null && Long.parseLong(expires) < Instant.now().getEpochSecond();
        } catch (NumberFormatException e) {
            return false;
        }
    }
}
