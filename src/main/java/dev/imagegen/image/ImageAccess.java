package dev.imagegen.image;

import java.time.Instant;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.smallrye.mutiny.Uni;

import dev.imagegen.api.ApiException;
import dev.imagegen.auth.Caller;

/**
 * Who may read an image: the holder of a valid signed link, its owner, or an operator. Anyone else
 * gets the same 404 as for an image that does not exist. The resource asks here and never reads the
 * repository itself.
 */
@ApplicationScoped
public class ImageAccess {

    @Inject
    ImageRepository images;

    @Inject
    ImageLinks links;

    /** The image behind a signed link: 403 when the link is expired or forged, 404 when it is gone. */
    public Uni<Image> bySignedLink(UUID id, String expires, String sig) {
        if (!links.verify(id, expires, sig)) {
            throw ApiException.forbidden(expired(expires)
                    ? "This image link has expired; GET /v1/generations/{id} gives a fresh one."
                    : "This image link is not valid (its signature does not match).");
        }
        return images.findWithOwner(id).map(owned -> {
            if (owned == null) {
                throw ApiException.notFound("Image " + id);
            }
            return owned.image();
        });
    }

    /** The image if {@code caller} owns it or is an operator; 404 otherwise. */
    public Uni<Image> forCaller(UUID id, Caller caller) {
        return images.findWithOwner(id).map(owned -> {
            if (owned == null || !(caller.operator() || owned.ownerId().equals(caller.userId()))) {
                throw ApiException.notFound("Image " + id);
            }
            return owned.image();
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
