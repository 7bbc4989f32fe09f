package dev.imagegen.health;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Optional;

import org.eclipse.microprofile.health.HealthCheckResponse;
import org.flywaydb.core.api.MigrationVersion;
import org.junit.jupiter.api.Test;

import dev.imagegen.health.HealthRepository.AppliedMigration;

/** The readiness verdict on Flyway's history, for the states a running test database never shows. */
class DatabaseReadinessCheckTest {

    static HealthCheckResponse verdict(List<AppliedMigration> history, String newest) {
        return DatabaseReadinessCheck.migrations(HealthCheckResponse.named("database"), history,
                Optional.ofNullable(newest).map(MigrationVersion::fromVersion), "Flyway could not read the migrations");
    }

    static Object data(HealthCheckResponse r, String key) {
        return r.getData().orElseThrow().get(key);
    }

    @Test
    void theNewestShippedVersionAppliedIsUp() {
        HealthCheckResponse r = verdict(List.of(new AppliedMigration("1", true), new AppliedMigration("2", true)), "2");
        assertEquals(HealthCheckResponse.Status.UP, r.getStatus());
        assertEquals("applied", data(r, "migrations"));
        assertEquals("2", data(r, "schema_version"));
        assertEquals("2", data(r, "expected_schema_version"));
    }

    @Test
    void aSchemaMigratedFurtherByANewerReplicaIsStillUp() {
        HealthCheckResponse r = verdict(List.of(new AppliedMigration("1", true), new AppliedMigration("2", true),
                new AppliedMigration("3", true)), "2");
        assertEquals(HealthCheckResponse.Status.UP, r.getStatus());
        assertEquals("3", data(r, "schema_version"));
    }

    @Test
    void versionsCompareAsVersionsNotAsText() {
        HealthCheckResponse r = verdict(List.of(new AppliedMigration("9", true), new AppliedMigration("10", true)), "10");
        assertEquals(HealthCheckResponse.Status.UP, r.getStatus());
        assertEquals("10", data(r, "schema_version"));
    }

    @Test
    void aPendingMigrationIsDown() {
        HealthCheckResponse r = verdict(List.of(new AppliedMigration("1", true)), "2");
        assertEquals(HealthCheckResponse.Status.DOWN, r.getStatus());
        assertEquals("pending", data(r, "migrations"));
    }

    @Test
    void anEmptyHistoryIsDown() {
        HealthCheckResponse r = verdict(List.of(), "2");
        assertEquals(HealthCheckResponse.Status.DOWN, r.getStatus());
        assertEquals("none", data(r, "schema_version"));
    }

    @Test
    void aFailedMigrationIsDown() {
        HealthCheckResponse r = verdict(List.of(new AppliedMigration("1", true), new AppliedMigration("2", false)), "2");
        assertEquals(HealthCheckResponse.Status.DOWN, r.getStatus());
        assertEquals("failed", data(r, "migrations"));
    }

    @Test
    void anUnknownExpectedVersionIsDownAndSaysWhy() {
        HealthCheckResponse r = verdict(List.of(new AppliedMigration("2", true)), null);
        assertEquals(HealthCheckResponse.Status.DOWN, r.getStatus());
        assertEquals("unknown", data(r, "migrations"));
        assertEquals("Flyway could not read the migrations", data(r, "error"));
    }
}
