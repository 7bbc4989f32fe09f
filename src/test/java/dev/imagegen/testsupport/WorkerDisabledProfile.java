package dev.imagegen.testsupport;

import java.util.Map;

import io.quarkus.test.junit.QuarkusTestProfile;

/** The application without its worker and maintenance, so tests drive the queue by hand. */
public class WorkerDisabledProfile implements QuarkusTestProfile {
    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("imagegen.worker.enabled", "false");
    }
}
