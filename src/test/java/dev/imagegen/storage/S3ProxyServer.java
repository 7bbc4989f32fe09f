package dev.imagegen.storage;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * A real S3-compatible server for tests: S3Proxy ({@code org.gaul:s3proxy}, its
 * {@code jar-with-dependencies}) run as a child process on 127.0.0.1, on a free port, storing buckets in
 * a folder (the {@code filesystem-nio2} backend), and checking AWS V2/V4 signatures against
 * {@link #ACCESS_KEY}/{@link #SECRET_KEY}. No Docker.
 *
 * <p>The jar is found at the system property {@code imagegen.test.s3proxy.jar}, else at
 * {@code target/s3proxy/s3proxy.jar} (where the build's {@code generate-test-resources} phase copies it),
 * else in the local Maven repository. {@link #start} waits (at most {@link #STARTUP_TIMEOUT}) until the
 * server answers HTTP; {@link #close} stops it (and a JVM shutdown hook does, should a test run die).
 * The server's configuration and log are written next to the data folder
 * ({@code s3proxy-<port>.properties}, {@code s3proxy-<port>.log}).
 */
public final class S3ProxyServer implements AutoCloseable {

    public static final String ACCESS_KEY = "imagegen-test-access-key";
    public static final String SECRET_KEY = "imagegen-test-secret-key";
    public static final String VERSION = "4.1.0";
    static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(60);
    private static final int PORT_ATTEMPTS = 3;

    private final Process process;
    private final URI endpoint;
    private final Path log;
    private final Thread shutdownHook;

    private S3ProxyServer(Process process, URI endpoint, Path log) {
        this.process = process;
        this.endpoint = endpoint;
        this.log = log;
        this.shutdownHook = new Thread(process::destroyForcibly, "s3proxy-stop");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** Starts S3Proxy keeping its buckets under {@code dataDir} (created if needed). */
    public static S3ProxyServer start(Path dataDir) throws IOException, InterruptedException {
        Path jar = findJar();
        Files.createDirectories(dataDir);
        IOException last = null;
        for (int attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
            try {
                return launch(jar, dataDir, freePort());
            } catch (IOException e) {
                // Most likely another process took the port between our probe and S3Proxy's bind.
                last = e;
            }
        }
        throw last;
    }

    /** {@code http://127.0.0.1:<port>} */
    public URI endpoint() {
        return endpoint;
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException ignored) {
            // the JVM is already shutting down
        }
    }

    private static S3ProxyServer launch(Path jar, Path dataDir, int port) throws IOException, InterruptedException {
        URI endpoint = URI.create("http://127.0.0.1:" + port);
        Path parent = dataDir.toAbsolutePath().getParent();
        Path config = parent.resolve("s3proxy-" + port + ".properties");
        Path log = parent.resolve("s3proxy-" + port + ".log");
        Properties properties = new Properties();
        properties.setProperty("s3proxy.endpoint", endpoint.toString());
        properties.setProperty("s3proxy.authorization", "aws-v2-or-v4");
        properties.setProperty("s3proxy.identity", ACCESS_KEY);
        properties.setProperty("s3proxy.credential", SECRET_KEY);
        properties.setProperty("jclouds.provider", "filesystem-nio2");
        properties.setProperty("jclouds.filesystem.basedir", dataDir.toAbsolutePath().toString());
        properties.setProperty("jclouds.identity", ACCESS_KEY);
        properties.setProperty("jclouds.credential", SECRET_KEY);
        try (var out = Files.newBufferedWriter(config, StandardCharsets.UTF_8)) {
            properties.store(out, "S3Proxy for imagegen-queue tests");
        }

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder builder = new ProcessBuilder(java, "-Xmx256m", "-jar", jar.toString(),
                "--properties", config.toString())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().put("LOG_LEVEL", "warn");
        Process process = builder.start();
        S3ProxyServer server = new S3ProxyServer(process, endpoint, log);
        try {
            server.awaitReady();
            return server;
        } catch (IOException | RuntimeException | InterruptedException e) {
            server.close();
            throw e;
        }
    }

    /** Polls until S3Proxy answers any HTTP status on its endpoint, the process dies, or the timeout passes. */
    private void awaitReady() throws IOException, InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        HttpRequest probe = HttpRequest.newBuilder(endpoint.resolve("/")).timeout(Duration.ofSeconds(2)).GET().build();
        long deadline = System.nanoTime() + STARTUP_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("S3Proxy exited with " + process.exitValue() + " before answering:\n" + logTail());
            }
            try {
                http.send(probe, HttpResponse.BodyHandlers.discarding());
                return;
            } catch (IOException notYet) {
                // not listening yet
            }
            // The only condition to wait on is the child's socket: poll it, pausing on the process itself.
            process.waitFor(100, TimeUnit.MILLISECONDS);
        }
        throw new IOException("S3Proxy did not answer on " + endpoint + " within " + STARTUP_TIMEOUT + ":\n" + logTail());
    }

    private String logTail() {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    private static Path findJar() {
        List<Path> candidates = new ArrayList<>();
        String property = System.getProperty("imagegen.test.s3proxy.jar");
        if (property != null && !property.isBlank()) {
            candidates.add(Path.of(property));
        }
        candidates.add(Path.of("target", "s3proxy", "s3proxy.jar"));
        String repo = System.getProperty("maven.repo.local");
        Path local = repo != null && !repo.isBlank() ? Path.of(repo)
                : Path.of(System.getProperty("user.home"), ".m2", "repository");
        candidates.add(local.resolve(Path.of("org", "gaul", "s3proxy", VERSION,
                "s3proxy-" + VERSION + "-jar-with-dependencies.jar")));
        for (Path candidate : candidates) {
            if (Files.isRegularFile(candidate)) {
                return candidate.toAbsolutePath();
            }
        }
        throw new IllegalStateException("S3Proxy's jar was not found in " + candidates
                + ": run the tests through Maven (its generate-test-resources phase copies it to target/s3proxy)");
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
