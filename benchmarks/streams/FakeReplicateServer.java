// A standalone Replicate fake for the streams benchmark: the project's own ReplicateSimulator
// (dev.imagegen.simulator, in target/classes) on 127.0.0.1:PORT, whose output files are large: each is the
// simulator's rendered PNG followed by zero bytes up to OUTPUT_BYTES (FileBody.padded: streamed with
// back-pressure from one 64 KiB buffer, never held whole). Copied from benchmarks/inflight/ with that one
// change and without the create limit. Run as a single-file source program:
//
//   java -cp target/classes:target/quarkus-app/lib/main/"*":target/quarkus-app/lib/boot/"*" benchmarks/streams/FakeReplicateServer.java \
//        PORT DELAY_MS OUTPUT_BYTES MAX_SECONDS
//
// It exits by itself after MAX_SECONDS.
import java.time.Duration;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;

import dev.imagegen.simulator.FileBody;
import dev.imagegen.simulator.ReplicateSimulator;
import dev.imagegen.simulator.SimulatorInterceptor;

public class FakeReplicateServer {

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        Duration delay = Duration.ofMillis(Long.parseLong(args[1]));
        long outputBytes = Long.parseLong(args[2]);
        long maxSeconds = Long.parseLong(args[3]);

        Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2));
        ReplicateSimulator sim = new ReplicateSimulator(vertx, "http://127.0.0.1:" + port, delay)
                .acceptTokens(t -> !t.isBlank())
                .maxPredictions(100_000)
                .outputRetention(Duration.ofHours(1));
        sim.interceptor(new SimulatorInterceptor() {
            @Override
            public FileBody fileBody(String predictionId, int index, byte[] png) {
                return FileBody.padded(png, outputBytes);
            }
        });
        sim.listen("127.0.0.1", port).toCompletionStage().toCompletableFuture().get();
        System.out.println("fake Replicate listening on " + port + ", delay " + delay + ", output bytes " + outputBytes);
        Thread.sleep(maxSeconds * 1000);
        sim.closeAsync().toCompletionStage().toCompletableFuture().get();
        vertx.close();
        System.exit(0);
    }
}
