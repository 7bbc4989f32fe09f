// The Replicate fake of the pickup benchmark: the project's own ReplicateSimulator (dev.imagegen.simulator, in
// target/classes) on 127.0.0.1:PORT, which writes one line per prediction create to CREATES_FILE: the wall-clock
// time the create request (body read) reached it, in microseconds since the epoch, and the prompt it carries.
// The benchmark's client puts a marker in every prompt and joins on it. A copy of benchmarks/inflight's fake
// without its create limit and with this log. Run as a single-file source program:
//
//   java -cp target/classes:target/quarkus-app/lib/main/"*":target/quarkus-app/lib/boot/"*" benchmarks/pickup/FakeReplicateServer.java \
//        PORT DELAY_MS MAX_SECONDS CREATES_FILE WEBHOOK_SECRET
//
// It exits by itself after MAX_SECONDS.
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

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
        long maxSeconds = Long.parseLong(args[2]);
        Path creates = Path.of(args[3]);
        String secret = args[4];

        Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
        PrintWriter log = new PrintWriter(Files.newBufferedWriter(creates));
        ReplicateSimulator sim = new ReplicateSimulator(vertx, "http://127.0.0.1:" + port, delay)
                .acceptTokens(t -> !t.isBlank())
                .webhookSecret(secret)
                .outputRetention(Duration.ofHours(1));
        sim.interceptor(new SimulatorInterceptor() {
            @Override
            public Fault beforeRoute(Route route, RoutingContext ctx) {
                if (route == Route.CREATE) {
                    // Taken first: everything below only adds to the time after arrival.
                    long micros = ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now());
                    String prompt = "";
                    try {
                        JsonObject input = ctx.body().asJsonObject().getJsonObject("input");
                        prompt = input == null ? "" : input.getString("prompt", "");
                    } catch (RuntimeException e) {
                        prompt = "unparsable";
                    }
                    synchronized (log) {
                        log.println(micros + "\t" + prompt.replace('\t', ' ').replace('\n', ' '));
                        log.flush();
                    }
                }
                return Fault.proceed();
            }
        });
        sim.listen("127.0.0.1", port).toCompletionStage().toCompletableFuture().get();
        System.out.println("fake Replicate listening on " + port + ", delay " + delay);
        Thread.sleep(maxSeconds * 1000);
        sim.closeAsync().toCompletionStage().toCompletableFuture().get();
        vertx.close();
        synchronized (log) {
            log.close();
        }
        System.exit(0);
    }
}
