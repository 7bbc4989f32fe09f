package dev.imagegen.config;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.interceptor.Interceptor;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.quarkus.runtime.LaunchMode;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.runtime.configuration.ConfigurationException;

/**
 * Refuses to start with settings that would break the service. It is the first {@link StartupEvent} observer,
 * so it runs before the worker and the notifier start (Flyway's migrate-at-start has already run by then).
 * <ul>
 * <li>In prod: {@code IMAGEGEN_AUTH_JWT_SECRET}, {@code REPLICATE_API_TOKEN} and both datasource URLs must be
 * set, and the Replicate simulator must be off.</li>
 * <li>Everywhere: a JWT secret, when set, has at least {@link #MIN_SECRET_BYTES} bytes; worker
 * parallelism, attempts and the storage backend are within range.</li>
 * </ul>
 * All problems are reported together, on one line, as a {@link ConfigurationException}: Quarkus prints its
 * message alone (no stack trace) and exits with status 1.
 */
@ApplicationScoped
public class StartupChecks {

    static final int MAX_PARALLEL_JOBS = 10_000;
    static final int MAX_ATTEMPTS = 100;
    static final Set<String> STORAGE_BACKENDS = Set.of("filesystem", "s3");

    /**
     * A JWT secret shorter than this is refused: HS256 wants at least 256 bits of key. It lives with the
     * check (not in {@code auth}) so that config never depends on auth.
     */
    static final int MIN_SECRET_BYTES = 32;

    static final String JWT_SECRET_KEY = "imagegen.auth.jwt-secret";
    static final String API_TOKEN_KEY = "imagegen.replicate.api-token";
    static final String SIMULATOR_KEY = "imagegen.replicate.simulator.enabled";
    static final String MAX_PARALLEL_JOBS_KEY = "imagegen.worker.max-parallel-jobs";
    static final String MAX_ATTEMPTS_KEY = "imagegen.jobs.max-attempts";
    static final String STORAGE_BACKEND_KEY = "imagegen.storage.backend";
    static final String REACTIVE_URL_KEY = "quarkus.datasource.reactive.url";
    static final String JDBC_URL_KEY = "quarkus.datasource.jdbc.url";

    @Inject
    ImagegenConfig config;

    @ConfigProperty(name = REACTIVE_URL_KEY)
    Optional<String> reactiveUrl;

    @ConfigProperty(name = JDBC_URL_KEY)
    Optional<String> jdbcUrl;

    /** The settings the checks look at, so that they can be tested without starting Quarkus. */
    record Settings(boolean production, Optional<String> jwtSecret, Optional<String> replicateApiToken,
            boolean simulatorEnabled, int maxParallelJobs, int maxAttempts, String storageBackend,
            Optional<String> reactiveUrl, Optional<String> jdbcUrl) {
    }

    /** One problem: the configuration key at fault and a sentence that names its environment variable. */
    record Problem(String key, String message) {
    }

    void check(@Observes @Priority(Interceptor.Priority.PLATFORM_BEFORE) StartupEvent event) {
        Settings settings = new Settings(LaunchMode.current().isProduction(), config.auth().jwtSecret(),
                config.replicate().apiToken(), config.replicate().simulatorEnabled(), config.worker().maxParallelJobs(),
                config.jobs().maxAttempts(), config.storage().backend(), reactiveUrl, jdbcUrl);
        List<Problem> problems = problems(settings);
        if (!problems.isEmpty()) {
            throw failure(problems);
        }
    }

    /** Every problem with {@code s}, in a stable order; empty when the service may start. */
    static List<Problem> problems(Settings s) {
        List<Problem> problems = new ArrayList<>();
        Optional<String> secret = s.jwtSecret().filter(v -> !v.isBlank());
        if (secret.isEmpty()) {
            if (s.production()) {
                problems.add(new Problem(JWT_SECRET_KEY, "IMAGEGEN_AUTH_JWT_SECRET is not set: bearer tokens cannot be"
                        + " verified without the HS256 secret (at least " + MIN_SECRET_BYTES + " bytes)"));
            }
        } else {
            int bytes = secret.get().getBytes(StandardCharsets.UTF_8).length;
            if (bytes < MIN_SECRET_BYTES) {
                problems.add(new Problem(JWT_SECRET_KEY, "IMAGEGEN_AUTH_JWT_SECRET is too short: " + bytes
                        + " bytes, HS256 needs at least " + MIN_SECRET_BYTES));
            }
        }
        if (s.production() && missing(s.replicateApiToken())) {
            problems.add(new Problem(API_TOKEN_KEY, "REPLICATE_API_TOKEN is not set: the worker cannot call Replicate"));
        }
        if (s.production() && missing(s.reactiveUrl())) {
            problems.add(new Problem(REACTIVE_URL_KEY, "QUARKUS_DATASOURCE_REACTIVE_URL is not set: the service has no"
                    + " PostgreSQL"));
        }
        if (s.production() && missing(s.jdbcUrl())) {
            problems.add(new Problem(JDBC_URL_KEY, "QUARKUS_DATASOURCE_JDBC_URL is not set: Flyway cannot migrate the"
                    + " schema"));
        }
        if (s.production() && s.simulatorEnabled()) {
            problems.add(new Problem(SIMULATOR_KEY, "IMAGEGEN_REPLICATE_SIMULATOR_ENABLED=true is refused in prod:"
                    + " the simulator only fakes Replicate"));
        }
        if (s.maxParallelJobs() < 1 || s.maxParallelJobs() > MAX_PARALLEL_JOBS) {
            problems.add(new Problem(MAX_PARALLEL_JOBS_KEY, "IMAGEGEN_WORKER_MAX_PARALLEL_JOBS must be between 1 and "
                    + MAX_PARALLEL_JOBS + ", not " + s.maxParallelJobs()));
        }
        if (s.maxAttempts() < 1 || s.maxAttempts() > MAX_ATTEMPTS) {
            problems.add(new Problem(MAX_ATTEMPTS_KEY, "IMAGEGEN_JOBS_MAX_ATTEMPTS must be between 1 and " + MAX_ATTEMPTS
                    + ", not " + s.maxAttempts()));
        }
        if (!STORAGE_BACKENDS.contains(s.storageBackend())) {
            problems.add(new Problem(STORAGE_BACKEND_KEY, "IMAGEGEN_STORAGE_BACKEND must be filesystem or s3, not \""
                    + s.storageBackend() + "\""));
        }
        return problems;
    }

    private static boolean missing(Optional<String> value) {
        return value.filter(v -> !v.isBlank()).isEmpty();
    }

    /** One line for all problems, with the keys at fault (dev mode's error page offers to edit them). */
    static ConfigurationException failure(List<Problem> problems) {
        Set<String> keys = new LinkedHashSet<>();
        List<String> messages = new ArrayList<>();
        for (Problem p : problems) {
            keys.add(p.key());
            messages.add(p.message());
        }
        return new ConfigurationException("Cannot start: " + String.join("; ", messages), keys);
    }
}
