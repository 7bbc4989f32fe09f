package dev.imagegen.testsupport;

import io.quarkus.test.common.QuarkusTestResource;

/** Test resources shared by every {@code @QuarkusTest}: one PostgreSQL database per run. */
@QuarkusTestResource(PostgresResource.class)
public final class TestResources {
    private TestResources() {
    }
}
