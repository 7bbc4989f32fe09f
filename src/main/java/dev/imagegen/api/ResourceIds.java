package dev.imagegen.api;

import java.util.UUID;

/**
 * Ids in request paths. Every resource (generations, images, jobs) reads its id the same way, so the
 * rule lives here, below all of them, rather than in one resource that the others would then depend on.
 */
public final class ResourceIds {

    private ResourceIds() {
    }

    /** A malformed id cannot exist: 404, exactly as for an id that does not exist. */
    public static UUID parse(String id) {
        try {
            UUID uuid = UUID.fromString(id);
            if (uuid.toString().equalsIgnoreCase(id)) {
                return uuid;
            }
        } catch (IllegalArgumentException e) {
            // falls through
        }
        throw ApiException.notFound("Resource " + (id.length() > 64 ? id.substring(0, 64) + "…" : id));
    }
}
