package dev.imagegen.generation;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.smallrye.mutiny.Uni;

import dev.imagegen.config.ImagegenConfig;
import dev.imagegen.queue.maintenance.RetentionSweep;

/** Retention of Idempotency-Keys: those older than {@code imagegen.api.idempotency-ttl} are deleted. */
@ApplicationScoped
public class IdempotencyKeyRetention implements RetentionSweep {

    public static final String NAME = "expired idempotency keys";

    @Inject
    IdempotencyKeyRepository keys;

    @Inject
    ImagegenConfig config;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Uni<Integer> pruneBatch(int limit) {
        return keys.pruneExpired(config.api().idempotencyTtl(), limit);
    }
}
