package dev.imagegen.simulator;

import static dev.imagegen.simulator.Responses.problem;
import static dev.imagegen.simulator.Responses.send;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jboss.logging.Logger;

import io.vertx.ext.web.RoutingContext;

/** {@code GET|HEAD /files/{id}/out-{i}.png}: output files, without auth, rendered on first use, with range support. */
final class FileRoutes {

    private static final Logger LOG = Logger.getLogger(FileRoutes.class);
    private static final Pattern FILE_NAME = Pattern.compile("out-(\\d{1,2})\\.([a-z]{3,4})");

    private final SimulatorSettings settings;
    private final PredictionBook book;
    private final PredictionLifecycle lifecycle;
    private final OutputFiles files;

    FileRoutes(SimulatorSettings settings, PredictionBook book, PredictionLifecycle lifecycle, OutputFiles files) {
        this.settings = settings;
        this.book = book;
        this.lifecycle = lifecycle;
        this.files = files;
    }

    void file(RoutingContext ctx) {
        Matcher m = FILE_NAME.matcher(ctx.pathParam("file"));
        SimPrediction p = book.find(ctx.pathParam("id"));
        if (!m.matches() || p == null || !p.servesFile(Integer.parseInt(m.group(1)), m.group(2))) {
            RequestChecks.notFound(ctx, false);
            return;
        }
        int index = Integer.parseInt(m.group(1));
        files.bytes(p, index, lifecycle::keepFiles).onComplete(ar -> {
            if (ar.failed()) {
                LOG.errorf(ar.cause(), "Simulator could not render %s/out-%d", p.id, index);
                send(ctx, 500, Responses.PROBLEM_JSON, problem("Internal Server Error", "rendering failed", 500));
                return;
            }
            FileBody body;
            try {
                body = settings.interceptor.fileBody(p.id, index, ar.result());
            } catch (RuntimeException e) {
                LOG.warnf(e, "Simulator interceptor failed on file %s/%d", p.id, index);
                body = FileBody.of(ar.result());
            }
            files.send(ctx, p, index, body == null ? FileBody.of(ar.result()) : body);
        });
    }
}
