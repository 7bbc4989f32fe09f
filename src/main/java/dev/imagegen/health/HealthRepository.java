package dev.imagegen.health;

import java.util.ArrayList;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;

/** The readiness checks' SQL, over the reactive pool (the application never uses JDBC after start-up). */
@ApplicationScoped
public class HealthRepository {

    /** The database answers at all. */
    static final String PING = "SELECT 1";

    /** Every versioned migration Flyway has recorded, applied or failed (a handful of rows). */
    static final String MIGRATIONS = """
            SELECT version, success
              FROM flyway_schema_history
             WHERE version IS NOT NULL
            """;

    /** One row of Flyway's history: a versioned migration and whether it succeeded. */
    public record AppliedMigration(String version, boolean success) {
    }

    @Inject
    Pool pool;

    public Uni<Void> ping() {
        return pool.query(PING).execute().replaceWithVoid();
    }

    public Uni<List<AppliedMigration>> migrations() {
        return pool.query(MIGRATIONS).execute().map(rows -> {
            List<AppliedMigration> out = new ArrayList<>(rows.size());
            for (Row r : rows) {
                out.add(new AppliedMigration(r.getString("version"), Boolean.TRUE.equals(r.getBoolean("success"))));
            }
            return out;
        });
    }
}
