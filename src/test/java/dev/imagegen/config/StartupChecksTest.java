package dev.imagegen.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.quarkus.runtime.configuration.ConfigurationException;

import dev.imagegen.config.StartupChecks.Problem;
import dev.imagegen.config.StartupChecks.Settings;

class StartupChecksTest {

    static final String SECRET = "0123456789abcdef0123456789abcdef";
    static final Optional<String> REACTIVE = Optional.of("postgresql://db:5432/imagegen");
    static final Optional<String> JDBC = Optional.of("jdbc:postgresql://db:5432/imagegen");

    static Settings prod(Optional<String> secret, Optional<String> token) {
        return new Settings(true, secret, token, false, 32, 3, "filesystem", REACTIVE, JDBC);
    }

    static Settings dev(int maxParallelJobs, int maxAttempts, String backend) {
        return new Settings(false, Optional.empty(), Optional.empty(), true, maxParallelJobs, maxAttempts, backend,
                Optional.empty(), Optional.empty());
    }

    static List<String> messages(Settings s) {
        return StartupChecks.problems(s).stream().map(Problem::message).toList();
    }

    @Test
    void completeProdSettingsPass() {
        assertEquals(List.of(), StartupChecks.problems(prod(Optional.of(SECRET), Optional.of("r8_token"))));
    }

    @Test
    void devNeedsNeitherSecretNorTokenAndMayUseTheSimulator() {
        assertEquals(List.of(), StartupChecks.problems(dev(32, 3, "filesystem")));
        assertEquals(List.of(), StartupChecks.problems(dev(32, 3, "s3")));
    }

    @Test
    void prodWithoutJwtSecretNamesTheVariable() {
        assertEquals(List.of("IMAGEGEN_AUTH_JWT_SECRET is not set: bearer tokens cannot be verified without the HS256"
                + " secret (at least 32 bytes)"), messages(prod(Optional.empty(), Optional.of("r8_token"))));
    }

    @Test
    void prodWithoutReplicateTokenNamesTheVariable() {
        assertEquals(List.of("REPLICATE_API_TOKEN is not set: the worker cannot call Replicate"),
                messages(prod(Optional.of(SECRET), Optional.empty())));
    }

    @Test
    void prodWithoutDatasourceUrlsNamesBothVariables() {
        Settings s = new Settings(true, Optional.of(SECRET), Optional.of("t"), false, 32, 3, "filesystem", Optional.empty(),
                Optional.of(" "));
        assertEquals(List.of("QUARKUS_DATASOURCE_REACTIVE_URL is not set: the service has no PostgreSQL",
                "QUARKUS_DATASOURCE_JDBC_URL is not set: Flyway cannot migrate the schema"), messages(s));
    }

    @Test
    void blankValuesCountAsMissing() {
        List<String> m = messages(prod(Optional.of("   "), Optional.of("")));
        assertEquals(2, m.size());
        assertTrue(m.get(0).startsWith("IMAGEGEN_AUTH_JWT_SECRET is not set: "), m.get(0));
        assertTrue(m.get(1).startsWith("REPLICATE_API_TOKEN is not set: "), m.get(1));
    }

    @Test
    void secretShorterThan32BytesIsRefusedInEveryMode() {
        String shortSecret = "x".repeat(31);
        String expected = "IMAGEGEN_AUTH_JWT_SECRET is too short: 31 bytes, HS256 needs at least 32";
        assertEquals(List.of(expected), messages(prod(Optional.of(shortSecret), Optional.of("t"))));
        assertEquals(List.of(expected), messages(
                new Settings(false, Optional.of(shortSecret), Optional.empty(), true, 32, 3, "filesystem", REACTIVE, JDBC)));
    }

    @Test
    void secretLengthCountsUtf8Bytes() {
        // 16 characters of two bytes each: exactly 32 bytes.
        assertEquals(List.of(), StartupChecks.problems(prod(Optional.of("é".repeat(16)), Optional.of("t"))));
    }

    @Test
    void simulatorIsRefusedInProdOnly() {
        Settings s = new Settings(true, Optional.of(SECRET), Optional.of("t"), true, 32, 3, "filesystem", REACTIVE, JDBC);
        assertEquals(List.of("imagegen.replicate.simulator.enabled"),
                StartupChecks.problems(s).stream().map(Problem::key).toList());
    }

    @ParameterizedTest
    @ValueSource(ints = { 1, 10_000 })
    void parallelJobsAtTheBoundsPass(int n) {
        assertEquals(List.of(), StartupChecks.problems(dev(n, 3, "s3")));
    }

    @ParameterizedTest
    @ValueSource(ints = { -1, 0, 10_001 })
    void parallelJobsOutOfRangeAreRefused(int n) {
        assertEquals(List.of("IMAGEGEN_WORKER_MAX_PARALLEL_JOBS must be between 1 and 10000, not " + n),
                messages(dev(n, 3, "s3")));
    }

    @ParameterizedTest
    @ValueSource(ints = { 1, 100 })
    void maxAttemptsAtTheBoundsPass(int n) {
        assertEquals(List.of(), StartupChecks.problems(dev(8, n, "filesystem")));
    }

    @ParameterizedTest
    @ValueSource(ints = { 0, 101 })
    void maxAttemptsOutOfRangeAreRefused(int n) {
        assertEquals(List.of("IMAGEGEN_JOBS_MAX_ATTEMPTS must be between 1 and 100, not " + n),
                messages(dev(8, n, "filesystem")));
    }

    @ParameterizedTest
    @ValueSource(strings = { "gcs", "S3", "", "file system" })
    void storageBackendOtherThanFilesystemOrS3IsRefused(String backend) {
        assertEquals(List.of("IMAGEGEN_STORAGE_BACKEND must be filesystem or s3, not \"" + backend + "\""),
                messages(dev(8, 3, backend)));
    }

    @Test
    void allProblemsAreReportedOnOneLineWithTheirKeys() {
        Settings s = new Settings(true, Optional.empty(), Optional.empty(), true, 0, 0, "ftp", Optional.empty(),
                Optional.empty());
        ConfigurationException e = StartupChecks.failure(StartupChecks.problems(s));
        assertTrue(e.getMessage().startsWith("Cannot start: IMAGEGEN_AUTH_JWT_SECRET is not set: "), e.getMessage());
        assertTrue(e.getMessage().contains("; REPLICATE_API_TOKEN is not set"), e.getMessage());
        assertTrue(e.getMessage().contains("; IMAGEGEN_STORAGE_BACKEND must be filesystem or s3"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        assertEquals(Set.of("imagegen.auth.jwt-secret", "imagegen.replicate.api-token", "quarkus.datasource.reactive.url",
                "quarkus.datasource.jdbc.url", "imagegen.replicate.simulator.enabled", "imagegen.worker.max-parallel-jobs", "imagegen.jobs.max-attempts",
                "imagegen.storage.backend"), e.getConfigKeys());
    }
}
