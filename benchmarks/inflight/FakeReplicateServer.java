// A standalone Replicate fake for the in-flight and CPU benchmarks: the project's own ReplicateSimulator
// (dev.imagegen.simulator, in target/classes) served on 127.0.0.1:PORT, plus a token-bucket limit on creates
// (Replicate answers 429 above it) and a stats line every second. Run as a single-file source program:
//
//   java -cp target/classes:target/quarkus-app/lib/main/"*":target/quarkus-app/lib/boot/"*" benchmarks/inflight/FakeReplicateServer.java \
//        PORT DELAY_MS CREATES_PER_MINUTE(0 = no limit) MAX_SECONDS STATS_FILE WEBHOOK_SECRET
//
// It exits by itself after MAX_SECONDS. Stats columns: unix_ms, running (predictions not yet terminal),
// max_running, creates (accepted), creates_429, gets, files.
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import dev.imagegen.simulator.Fault;
import dev.imagegen.simulator.ReplicateSimulator;
import dev.imagegen.simulator.Route;
import dev.imagegen.simulator.SimulatorInterceptor;

public class FakeReplicateServer {

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        Duration delay = Duration.ofMillis(Long.parseLong(args[1]));
        int perMinute = Integer.parseInt(args[2]);
        long maxSeconds = Long.parseLong(args[3]);
        Path stats = Path.of(args[4]);
        String secret = args[5];

        Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
        // Token bucket: perMinute/60 tokens a second, capacity one second's worth (at least 1).
        double rate = perMinute / 60.0;
        double capacity = Math.max(1, perMinute / 60);
        double[] bucket = { capacity, System.nanoTime() };
        AtomicLong rejected = new AtomicLong();
        AtomicLong accepted = new AtomicLong();
        JsonObject throttled = new JsonObject().put("title", "Request was throttled")
                .put("detail", "Request was throttled. Expected available in 1 second.").put("status", 429);
        ReplicateSimulator sim = new ReplicateSimulator(vertx, "http://127.0.0.1:" + port, delay)
                .acceptTokens(t -> !t.isBlank())
                .webhookSecret(secret)
                .maxPredictions(1_000_000)
                .outputRetention(Duration.ofHours(1))
                .webhookRetryBackoff(java.util.List.of(Duration.ofSeconds(1), Duration.ofSeconds(3)));
        sim.interceptor(new SimulatorInterceptor() {
            @Override
            public Fault beforeRoute(Route route, RoutingContext ctx) {
                if (route != Route.CREATE) {
                    return Fault.proceed();
                }
                if (perMinute > 0) {
                    synchronized (bucket) {
                        double now = System.nanoTime();
                        bucket[0] = Math.min(capacity, bucket[0] + (now - bucket[1]) / 1e9 * rate);
                        bucket[1] = now;
                        if (bucket[0] < 1) {
                            rejected.incrementAndGet();
                            return Fault.respond(429, Map.of("Retry-After", "1", "Content-Type", "application/problem+json"),
                                    throttled.encode());
                        }
                        bucket[0] -= 1;
                    }
                }
                accepted.incrementAndGet();
                return Fault.proceed();
            }
        });
        sim.listen("127.0.0.1", port).toCompletionStage().toCompletableFuture().get();
        System.out.println("fake Replicate listening on " + port + ", delay " + delay + ", creates/min " + perMinute);
        long start = System.currentTimeMillis();
        try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(stats))) {
            out.println("unix_ms\trunning\tmax_running\tcreates\tcreates_429\tgets\tfiles");
            while (System.currentTimeMillis() - start < maxSeconds * 1000) {
                out.printf("%d\t%d\t%d\t%d\t%d\t%d\t%d%n", System.currentTimeMillis(), sim.running(), sim.maxRunning(),
                        accepted.get(), rejected.get(), sim.calls(Route.GET), sim.calls(Route.FILE));
                out.flush();
                Thread.sleep(1000);
            }
        }
        sim.closeAsync().toCompletionStage().toCompletableFuture().get();
        vertx.close();
        System.exit(0);
    }
}
