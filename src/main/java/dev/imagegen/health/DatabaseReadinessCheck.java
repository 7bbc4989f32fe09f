package dev.imagegen.health;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;
import org.flywaydb.core.api.MigrationVersion;

import io.smallrye.health.api.AsyncHealthCheck;
import io.smallrye.mutiny.Uni;

/**
 * Ready when the database answers ({@code SELECT 1}) and its schema is at least the newest migration
 * this build ships, with no failed migration in Flyway's history. A newer schema is fine: during a
 * rolling deployment the new replicas migrate first, and the old ones must stay in service meanwhile
 * (migrations are additive). Everything is read through the reactive pool, and the whole check is
 * bounded by {@link #TIMEOUT}: a database that does not answer makes the check DOWN, never slow.
 *
 * <p>Data: {@code reachable}, {@code schema_version} (newest applied), {@code expected_schema_version}
 * (newest shipped), {@code migrations} ({@code applied}, {@code pending}, {@code failed} or
 * {@code unknown}), and {@code error} when something failed.
 */
@Readiness
@ApplicationScoped
public class DatabaseReadinessCheck implements AsyncHealthCheck {

    static final String NAME = "database";
    static final Duration TIMEOUT = Duration.ofSeconds(2);

    @Inject
    HealthRepository repository;

    @Inject
    ExpectedSchema expected;

    @Override
    public Uni<HealthCheckResponse> call() {
        HealthCheckResponseBuilder b = HealthCheckResponse.named(NAME);
        AtomicBoolean reachable = new AtomicBoolean();
        return repository.ping()
                .invoke(() -> reachable.set(true))
                .flatMap(ok -> Uni.combine().all().unis(repository.migrations(), expected.resolve(TIMEOUT)).asTuple())
                .ifNoItem().after(TIMEOUT).failWith(() -> new TimeoutException((reachable.get()
                        ? "the migration history could not be read" : "the database did not answer") + " within "
                        + TIMEOUT.toMillis() + " ms"))
                .map(t -> migrations(b.withData("reachable", true), t.getItem1(), t.getItem2(), expected.problem()))
                .onFailure().recoverWithItem(e -> b.down()
                        .withData("reachable", reachable.get())
                        .withData("migrations", "unknown")
                        .withData("error", message(e))
                        .build());
    }

    /**
     * The verdict on Flyway's history: DOWN when a migration failed, when the newest shipped version is
     * unknown ({@code problem} says why), or when the schema is older than it; UP otherwise.
     */
    static HealthCheckResponse migrations(HealthCheckResponseBuilder b, List<HealthRepository.AppliedMigration> history,
            Optional<MigrationVersion> newest, String problem) {
        MigrationVersion applied = null;
        boolean failed = false;
        for (HealthRepository.AppliedMigration m : history) {
            if (!m.success()) {
                failed = true;
                continue;
            }
            MigrationVersion v = MigrationVersion.fromVersion(m.version());
            if (applied == null || v.compareTo(applied) > 0) {
                applied = v;
            }
        }
        b.withData("schema_version", applied == null ? "none" : applied.getVersion());
        b.withData("expected_schema_version", newest.map(MigrationVersion::getVersion).orElse("unknown"));
        if (failed) {
            return b.down().withData("migrations", "failed")
                    .withData("error", "flyway_schema_history records a failed migration").build();
        }
        if (newest.isEmpty()) {
            return b.down().withData("migrations", "unknown").withData("error", problem).build();
        }
        if (applied == null || applied.compareTo(newest.get()) < 0) {
            return b.down().withData("migrations", "pending").build();
        }
        return b.up().withData("migrations", "applied").build();
    }

    private static String message(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }
}
