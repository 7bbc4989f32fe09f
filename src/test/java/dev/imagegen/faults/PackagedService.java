package dev.imagegen.faults;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.awaitility.Awaitility;

/**
 * The packaged service ({@code target/quarkus-app/quarkus-run.jar}) as a child process of the test, with its
 * own environment, its console in a log file under {@code target/}, and signals sent to its PID. {@link #close()}
 * always kills it (SIGKILL) if it still runs.
 */
final class PackagedService implements AutoCloseable {

    static final Path JAR = Path.of("target", "quarkus-app", "quarkus-run.jar");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final Process process;
    final int port;
    final Path log;

    private PackagedService(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
    }

    /** Starts the jar with {@code env} (plus a free HTTP port) and waits until readiness answers 200. */
    static PackagedService start(Map<String, String> env, String logName) throws IOException {
        if (!Files.isRegularFile(JAR)) {
            throw new IllegalStateException(JAR + " is missing: run ./mvnw package first");
        }
        int port = freePort();
        Path log = Path.of("target", "faults", logName + ".log");
        Files.createDirectories(log.getParent());
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-jar", JAR.toString()));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.to(log.toFile()));
        pb.environment().putAll(env);
        pb.environment().put("QUARKUS_HTTP_PORT", Integer.toString(port));
        PackagedService service = new PackagedService(pb.start(), port, log);
        try {
            Awaitility.await("ready on port " + port).atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                    .until(() -> {
                        if (!service.process.isAlive()) {
                            throw new AssertionError("the service exited at start:\n" + Files.readString(log));
                        }
                        return service.readyStatus() == 200;
                    });
        } catch (RuntimeException | Error e) {
            service.close();
            throw e;
        }
        return service;
    }

    long pid() {
        return process.pid();
    }

    String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    /** The readiness status code, or -1 when nothing answers. */
    int readyStatus() {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create(baseUrl() + "/q/health/ready")).timeout(Duration.ofSeconds(4)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    boolean alive() {
        return process.isAlive();
    }

    /** {@code kill -9}: the JVM gets no chance to run anything. */
    void kill9() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            throw new AssertionError("pid " + pid() + " survived SIGKILL for 10 s");
        }
    }

    /** {@code kill -TERM}: Quarkus' graceful shutdown. */
    void term() {
        process.destroy();
    }

    /** Waits up to {@code max} for the process to exit; its exit code, or null when it still runs. */
    Integer waitExit(Duration max) throws InterruptedException {
        return process.waitFor(max.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : null;
    }

    String logText() throws IOException {
        return Files.readString(log);
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Like {@link #start(Map, String)}, on a {@code port} chosen beforehand (webhook mode needs its public URL
     * before start), with the java command handed to {@code wrap} first: e.g. to run it inside
     * {@code unshare -Urm sh -c '… && exec java …'}. {@code wrap} must exec java (the PID stays the JVM's).
     */
    static PackagedService start(Map<String, String> env, String logName, int port,
            java.util.function.UnaryOperator<List<String>> wrap) throws IOException {
        if (!Files.isRegularFile(JAR)) {
            throw new IllegalStateException(JAR + " is missing: run ./mvnw package first");
        }
        Path log = Path.of("target", "faults", logName + ".log");
        Files.createDirectories(log.getParent());
        List<String> java = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-jar", JAR.toString()));
        ProcessBuilder pb = new ProcessBuilder(wrap.apply(java)).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.to(log.toFile()));
        pb.environment().putAll(env);
        pb.environment().put("QUARKUS_HTTP_PORT", Integer.toString(port));
        PackagedService service = new PackagedService(pb.start(), port, log);
        try {
            Awaitility.await("ready on port " + port).atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                    .until(() -> {
                        if (!service.process.isAlive()) {
                            throw new AssertionError("the service exited at start:\n" + Files.readString(log));
                        }
                        return service.readyStatus() == 200;
                    });
        } catch (RuntimeException | Error e) {
            service.close();
            throw e;
        }
        return service;
    }

    /** A free local port, for {@link #start(Map, String, int, java.util.function.UnaryOperator)}. */
    static int pickPort() throws IOException {
        return freePort();
    }

    /** The process' resident set size in KiB, from {@code /proc/PID/status}. */
    long rssKib() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid()), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    /** Open file descriptors of the process, from {@code /proc/PID/fd}. */
    long openFds() throws IOException {
        try (var fds = Files.list(Path.of("/proc", Long.toString(pid()), "fd"))) {
            return fds.count();
        }
    }

    /** The Prometheus text of {@code /q/metrics}. */
    String metrics() throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create(baseUrl() + "/q/metrics")).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    /** The sum of every sample of {@code metric} whose labels contain {@code labelPart} ("" for all). */
    static double metricSum(String text, String metric, String labelPart) {
        double sum = 0;
        for (String line : text.split("\n")) {
            if (line.startsWith(metric + "{") || line.startsWith(metric + " ")) {
                if (line.contains(labelPart)) {
                    sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
        }
        return sum;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
