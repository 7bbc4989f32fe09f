package dev.imagegen.faults;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.awaitility.Awaitility;

/**
 * A PostgreSQL server of the test's own, for the cases that stop or restart it (never the shared one on 5432):
 * {@code initdb} and {@code postgres} from {@code /usr/lib/postgresql/15/bin} (or {@code IMAGEGEN_TEST_PG_BIN}), on a
 * free port, its data directory under {@code target/faults/}. As root (initdb refuses root) both run under
 * {@code unshare -U}, in a user namespace where the process is not root, as the zonky embedded server does.
 * {@code postgres} is started directly (unshare execs it), so the process the test holds IS the postmaster: it is
 * stopped by its PID ({@code kill -INT}, a fast shutdown that ends every session), and {@link #close()} kills it
 * whatever happened.
 */
final class OwnPostgres implements AutoCloseable {

    private static final Path BIN = Path.of(System.getenv().getOrDefault("IMAGEGEN_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"));
    static final String DB = "imagegen";

    final int port;
    final Path dir;
    private final Path log;
    private Process postmaster;

    private OwnPostgres(int port, Path dir) {
        this.port = port;
        this.dir = dir;
        this.log = dir.resolve("postgres.log");
    }

    /** initdb, start, and create database {@value #DB}. */
    static OwnPostgres start() throws Exception {
        if (!Files.isExecutable(BIN.resolve("initdb"))) {
            throw new IllegalStateException("no PostgreSQL binaries at " + BIN + " (set IMAGEGEN_TEST_PG_BIN)");
        }
        Path dir = Path.of("target", "faults", "pg-" + UUID.randomUUID().toString().substring(0, 8)).toAbsolutePath();
        Files.createDirectories(dir);
        OwnPostgres pg = new OwnPostgres(freePort(), dir);
        Process initdb = new ProcessBuilder(pg.command(BIN.resolve("initdb").toString(), "-D", dir.resolve("data").toString(),
                "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"))
                .redirectErrorStream(true).redirectOutput(dir.resolve("initdb.log").toFile()).start();
        if (!initdb.waitFor(60, TimeUnit.SECONDS) || initdb.exitValue() != 0) {
            initdb.destroyForcibly();
            throw new IllegalStateException("initdb failed:\n" + Files.readString(dir.resolve("initdb.log")));
        }
        pg.startServer();
        pg.execute("postgres", "CREATE DATABASE " + DB);
        return pg;
    }

    /** Starts the postmaster on the existing data directory and waits until it accepts connections. */
    void startServer() throws IOException {
        postmaster = new ProcessBuilder(command(BIN.resolve("postgres").toString(), "-D", dir.resolve("data").toString(),
                "-p", Integer.toString(port), "-c", "listen_addresses=127.0.0.1", "-k", dir.toString(),
                "-c", "fsync=off", "-c", "max_connections=100"))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        Awaitility.await("own PostgreSQL on port " + port).atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> {
                    if (!postmaster.isAlive()) {
                        throw new AssertionError("postgres exited:\n" + Files.readString(log));
                    }
                    try (Connection c = DriverManager.getConnection(url("postgres"), "postgres", "")) {
                        return true;
                    } catch (SQLException e) {
                        return false;
                    }
                });
    }

    /** Fast shutdown ({@code kill -INT <pid>}: every session is terminated), waits for the exit. */
    void stopServer() throws Exception {
        if (postmaster == null || !postmaster.isAlive()) {
            return;
        }
        Process kill = new ProcessBuilder("kill", "-INT", Long.toString(postmaster.pid())).start();
        kill.waitFor(10, TimeUnit.SECONDS);
        if (!postmaster.waitFor(30, TimeUnit.SECONDS)) {
            postmaster.destroyForcibly();
            postmaster.waitFor(10, TimeUnit.SECONDS);
        }
    }

    long pid() {
        return postmaster.pid();
    }

    /** The packaged service's datasource environment for database {@value #DB}. */
    Map<String, String> env() {
        return Map.of(
                "QUARKUS_DATASOURCE_JDBC_URL", url(DB),
                "QUARKUS_DATASOURCE_REACTIVE_URL", "postgresql://127.0.0.1:" + port + "/" + DB,
                "QUARKUS_DATASOURCE_USERNAME", "postgres",
                "QUARKUS_DATASOURCE_PASSWORD", "");
    }

    /** The single number {@code sql} answers in {@value #DB}. */
    long number(String sql) {
        try (Connection c = DriverManager.getConnection(url(DB), "postgres", ""); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }

    /** Runs {@code sql} in {@code db}. */
    void execute(String db, String sql) {
        try (Connection c = DriverManager.getConnection(url(db), "postgres", ""); Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }

    String url(String db) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + db;
    }

    @Override
    public void close() {
        try {
            stopServer();
        } catch (Exception e) {
            if (postmaster != null) {
                postmaster.destroyForcibly();
            }
        }
    }

    private List<String> command(String... args) {
        List<String> c = new ArrayList<>();
        if ("root".equals(System.getProperty("user.name"))) {
            c.add("unshare");
            c.add("-U");
        }
        c.addAll(List.of(args));
        return c;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
