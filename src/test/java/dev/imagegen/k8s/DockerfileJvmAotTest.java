package dev.imagegen.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

/**
 * Dockerfile.jvm trains the JDK's AOT cache in a first stage and starts with it in the second, both stages on
 * the very same image (a cache only loads on the JDK build that wrote it), from the same directory.
 */
class DockerfileJvmAotTest {

    static final Path DOCKER = Path.of("src/main/docker");

    @Test
    void trainsTheCacheOnTheRuntimeImageAndStartsWithIt() throws Exception {
        List<String> instructions = Files.readAllLines(DOCKER.resolve("Dockerfile.jvm")).stream().map(String::trim)
                .filter(l -> !l.isEmpty() && !l.startsWith("#")).collect(Collectors.toList());
        List<String> froms = instructions.stream().filter(l -> l.startsWith("FROM ")).collect(Collectors.toList());
        assertEquals(List.of("FROM ${RUNTIME_IMAGE} AS aot", "FROM ${RUNTIME_IMAGE}"), froms, "two stages, one image");
        assertTrue(instructions.stream().anyMatch(l -> l.matches("ARG RUNTIME_IMAGE=eclipse-temurin:2[5-9].*")),
                "a JDK with the AOT cache (25 or later)");
        assertTrue(instructions.contains("RUN bash /tmp/aot-train.sh java /deployments /deployments/app.aot"), "the training run");
        assertTrue(instructions.stream().anyMatch(l -> l.startsWith("COPY --from=aot ") && l.endsWith("/deployments/app.aot")),
                "the cache goes into the runtime stage");
        String entrypoint = instructions.stream().filter(l -> l.startsWith("ENTRYPOINT")).reduce((a, b) -> b).orElseThrow();
        assertTrue(entrypoint.contains("-XX:AOTCache=/deployments/app.aot") && entrypoint.contains("-jar /deployments/quarkus-run.jar"),
                entrypoint);
    }

    @Test
    void theTrainingScriptIsBoundedAndNeedsNoDatabase() throws Exception {
        String script = Files.readString(DOCKER.resolve("aot-train.sh"));
        assertTrue(script.contains("-XX:AOTCacheOutput="), "writes the cache at exit");
        assertTrue(script.contains("QUARKUS_FLYWAY_MIGRATE_AT_START=false"), "no migration, so no database");
        assertTrue(script.contains("kill -TERM"), "stops the training run itself");
        assertTrue(script.contains("seq 1 240"), "gives up after a bounded wait");
    }
}
