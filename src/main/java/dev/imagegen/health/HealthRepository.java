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

    /**
     * The oldest transaction open in this database, other than this query's own: its age, pid, application
     * name and state (a session {@code idle in transaction} holds its snapshot just the same). Reads the
     * in-memory {@code pg_stat_activity} view: no table is touched. Sessions of other roles show their
     * {@code xact_start} only to a superuser or a member of {@code pg_read_all_stats}.
     */
    static final String OLDEST_TRANSACTION = """
            SELECT pid, application_name, state, extract(epoch FROM clock_timestamp() - xact_start)::float8 AS age
              FROM pg_stat_activity
             WHERE datname = current_database() AND xact_start IS NOT NULL AND pid <> pg_backend_pid()
             ORDER BY xact_start
             LIMIT 1
            """;

    /** The oldest open transaction ({@link #OLDEST_TRANSACTION}); {@code age} is 0 when there is none. */
    public record OpenTransaction(double age, int pid, String application, String state) {
        static final OpenTransaction NONE = new OpenTransaction(0, 0, "", "");
    }

    /** One row of Flyway's history: a versioned migration and whether it succeeded. */
    public record AppliedMigration(String version, boolean success) {
    }

    @Inject
    Pool pool;

    public Uni<Void> ping() {
        return pool.query(PING).execute().replaceWithVoid();
    }

    public Uni<OpenTransaction> oldestTransaction() {
        return pool.query(OLDEST_TRANSACTION).execute().map(rows -> {
            if (rows.size() == 0) {
                return OpenTransaction.NONE;
            }
            Row r = rows.iterator().next();
            Double age = r.getDouble("age");
            return new OpenTransaction(age == null ? 0 : Math.max(0, age), r.getInteger("pid"),
                    r.getString("application_name"), r.getString("state"));
        });
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
