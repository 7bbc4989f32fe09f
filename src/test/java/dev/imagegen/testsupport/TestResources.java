package dev.imagegen.testsupport;

import io.quarkus.test.common.QuarkusTestResource;

/**
 * Test resources shared by every {@code @QuarkusTest} (one application start for all of them): a
 * PostgreSQL database of the run's own, and a fake Replicate over real HTTP.
 */
@QuarkusTestResource(PostgresResource.class)
@QuarkusTestResource(FakeReplicateResource.class)
public final class TestResources {
    private TestResources() {
    }
}
