package dev.imagegen.generation;

import java.time.Duration;
import java.util.UUID;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import dev.imagegen.config.ImagegenConfig;
import dev.imagegen.image.ImageLinks;

/**
 * The {@code events_url} of a generation: an absolute link to {@code GET /v1/generations/{id}/events}
 * that a browser's {@code EventSource} can open with no {@code Authorization} header. It is signed like
 * the image links (same key, scope {@code events}), bound to that one generation, and valid at least
 * one hour (the image link TTL when that is longer). Whoever holds it may follow that generation, and
 * nothing else: it is handed only to callers who may see the generation.
 */
@ApplicationScoped
public class EventLinks {

    static final String SCOPE = "events";

    /** The contract promises at least this much. */
    static final Duration MIN_VALIDITY = Duration.ofHours(1);

    private final ImageLinks signer;
    private final Duration validity;

    @Inject
    public EventLinks(ImageLinks signer, ImagegenConfig config) {
        this.signer = signer;
        Duration ttl = config.api().imageLinkTtl();
        this.validity = ttl.compareTo(MIN_VALIDITY) > 0 ? ttl : MIN_VALIDITY;
    }

    /** The signed, absolute events link of generation {@code id}. */
    public String url(UUID id) {
        return signer.absolute("/v1/generations/" + id + "/events?" + signer.signedQuery(SCOPE, id, validity));
    }

    /** Whether {@code expires} and {@code sig} are an unexpired signature of an events link to {@code id}. */
    public boolean verify(UUID id, String expires, String sig) {
        return signer.verify(SCOPE, id, expires, sig);
    }
}
