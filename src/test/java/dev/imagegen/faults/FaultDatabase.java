package dev.imagegen.faults;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * A database of its own on the PostgreSQL at 127.0.0.1:5432 for one fault case, dropped by {@link #close()};
 * gives the packaged service its URLs as environment variables, and lets the test count rows.
 */
final class FaultDatabase implements AutoCloseable {

    private static final String HOST = System.getenv().getOrDefault("IMAGEGEN_TEST_PG_HOST", "127.0.0.1");
    private static final String PORT = System.getenv().getOrDefault("IMAGEGEN_TEST_PG_PORT", "5432");
    private static final String USER = System.getenv().getOrDefault("IMAGEGEN_TEST_PG_USER", "postgres");
    private static final String PASSWORD = System.getenv().getOrDefault("IMAGEGEN_TEST_PG_PASSWORD", "");

    final String name = "imagegen_faults_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12).toLowerCase(Locale.ROOT);

    FaultDatabase() {
        execute(url("postgres"), "CREATE DATABASE " + name);
    }

    Map<String, String> env() {
        return Map.of(
                "QUARKUS_DATASOURCE_JDBC_URL", url(name),
                "QUARKUS_DATASOURCE_REACTIVE_URL", "postgresql://" + HOST + ":" + PORT + "/" + name,
                "QUARKUS_DATASOURCE_USERNAME", USER,
                "QUARKUS_DATASOURCE_PASSWORD", PASSWORD);
    }

    /** The single number {@code sql} answers. */
    long number(String sql) {
        try (Connection c = DriverManager.getConnection(url(name), USER, PASSWORD); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }

    /** Every row {@code sql} answers, each column as text (appended for ReplicasIT and LongTransactionIT). */
    List<String[]> rows(String sql) {
        try (Connection c = connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            int n = rs.getMetaData().getColumnCount();
            List<String[]> out = new ArrayList<>();
            while (rs.next()) {
                String[] row = new String[n];
                for (int i = 0; i < n; i++) {
                    row[i] = rs.getString(i + 1);
                }
                out.add(row);
            }
            return out;
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }

    /** A new JDBC connection to this database; the caller closes it. */
    Connection connect() throws SQLException {
        return DriverManager.getConnection(url(name), USER, PASSWORD);
    }

    @Override
    public void close() {
        execute(url("postgres"), "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    }

    private static String url(String db) {
        return "jdbc:postgresql://" + HOST + ":" + PORT + "/" + db;
    }

    private static void execute(String url, String sql) {
        try (Connection c = DriverManager.getConnection(url, USER, PASSWORD); Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }

    /** The first column of every row {@code sql} answers, as text (null stays null). */
    java.util.List<String> strings(String sql) {
        try (Connection c = DriverManager.getConnection(url(name), USER, PASSWORD); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            java.util.List<String> out = new java.util.ArrayList<>();
            while (rs.next()) {
                out.add(rs.getString(1));
            }
            return out;
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }
}
