package dev.imagegen.replicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.smallrye.mutiny.subscription.Cancellable;

import dev.imagegen.simulator.Route;
import dev.imagegen.testsupport.FakeReplicate;
import dev.imagegen.testsupport.InjectFakeReplicate;

/**
 * The connection pool to Replicate follows the worker's slots. It used to be the REST client's default of
 * 50, and a create with {@code Prefer: wait} holds its connection while it waits: so no more than 50 creates
 * were ever open at once, whatever IMAGEGEN_WORKER_MAX_PARALLEL_JOBS said.
 */
@QuarkusTest
@TestProfile(ReplicateClientPoolTest.EightySlots.class)
class ReplicateClientPoolTest {

    static final int CREATES = 70;

    public static class EightySlots implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("imagegen.worker.enabled", "false", "imagegen.worker.max-parallel-jobs", "80",
                    "imagegen.replicate.creates-per-minute", "0");
        }
    }

    @Inject
    ReplicateClient client;

    @InjectFakeReplicate
    FakeReplicate replicate;

    final List<Cancellable> calls = new ArrayList<>();

    @AfterEach
    void release() {
        calls.forEach(Cancellable::cancel);
        replicate.reset();
    }

    @Test
    void poolFollowsTheSlots() {
        assertEquals(80 + ReplicateClient.POOL_HEADROOM, client.poolSize());
    }

    @Test
    void moreCreatesThanTheOldPoolAreOpenAtOnceWhileReplicateHoldsThem() throws InterruptedException {
        replicate.reset().hangNext(Route.CREATE, CREATES);
        AtomicInteger answered = new AtomicInteger();
        ModelCatalog.Route route = ModelCatalog.route("black-forest-labs/flux-schnell");
        for (int i = 0; i < CREATES; i++) {
            calls.add(client.create(route, Map.of("prompt", "held " + i), Optional.empty())
                    .subscribe().with(p -> answered.incrementAndGet(), e -> answered.incrementAndGet()));
        }
        // Every create reaches the fake although none is answered: none waits for a pooled connection.
        // (Bounded wait, not a timing assertion: with the old pool the count stays at 50 for good.)
        for (int i = 0; i < 200 && replicate.calls(Route.CREATE) < CREATES; i++) {
            Thread.sleep(50);
        }
        assertEquals(CREATES, replicate.calls(Route.CREATE), "creates open at the fake at once");
        assertEquals(0, answered.get(), "the fake held every create");
        assertTrue(CREATES > 50);
    }
}
