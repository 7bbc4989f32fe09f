package dev.imagegen.simulator;

import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;

/**
 * Output files: rendered lazily on a worker thread, cached under a memory bound, and sent with the
 * headers replicate.delivery sends (single-range requests included), or faulted as a {@link FileBody} says.
 */
final class OutputFiles {

    private static final int CHUNK = 64 * 1024;
    private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC);

    private final Vertx vertx;
    private final ByteCache cache;
    private final Map<String, Future<byte[]>> rendering = new ConcurrentHashMap<>();

    OutputFiles(Vertx vertx, long maxBytes) {
        this.vertx = vertx;
        this.cache = new ByteCache(maxBytes);
    }

    /** The PNG of output {@code index}; renders are shared and cached while {@code keep} holds for the prediction. */
    Future<byte[]> bytes(SimPrediction p, int index, Predicate<SimPrediction> keep) {
        String key = p.id + "/" + index;
        byte[] cached = cache.get(key);
        if (cached != null) {
            return Future.succeededFuture(cached);
        }
        // Not computeIfAbsent: a render that ends before its listener is added runs the listener at once, and
        // its removal inside computeIfAbsent threw "Recursive update" (seen under load: the download got a 500).
        io.vertx.core.Promise<byte[]> promise = io.vertx.core.Promise.promise();
        Future<byte[]> raced = rendering.putIfAbsent(key, promise.future());
        if (raced != null) {
            return raced;
        }
        vertx.<byte[]>executeBlocking(() -> PngImages.render(p.prompt, p.seed + index, p.width, p.height), false)
                .onComplete(ar -> {
                    rendering.remove(key, promise.future());
                    if (ar.succeeded() && keep.test(p)) {
                        cache.put(key, ar.result());
                    }
                    promise.handle(ar);
                });
        return promise.future();
    }

    void forget(String predictionId) {
        cache.removePrefix(predictionId + "/");
    }

    void clear() {
        cache.clear();
        rendering.clear();
    }

    void maxBytes(long maxBytes) {
        cache.maxBytes(maxBytes);
    }

    /** Sends {@code body} for output {@code index} of {@code p}. */
    void send(RoutingContext ctx, SimPrediction p, int index, FileBody body) {
        HttpServerResponse resp = ctx.response();
        if (resp.closed() || resp.ended()) {
            return;
        }
        boolean head = ctx.request().method() == HttpMethod.HEAD;
        resp.putHeader("Content-Type", "image/png")
                .putHeader("Cache-Control", "public,max-age=3600")
                .putHeader("accept-ranges", "bytes")
                .putHeader("Last-Modified", HTTP_DATE.format(p.createdAt));
        if (!body.intact()) {
            resp.putHeader("Content-Length", Long.toString(body.declaredLength()));
            if (head) {
                resp.end();
            } else {
                pump(ctx, body, 0, Future.succeededFuture(), Buffer.buffer(new byte[CHUNK]));
            }
            return;
        }
        byte[] bytes = body.bytes();
        // Replicate sends a quoted MD5; an id-based tag is as stable and costs no hashing on the event loop.
        resp.putHeader("ETag", "\"" + p.id + "-" + index + "-" + bytes.length + "\"");
        long[] range = parseRange(ctx.request().getHeader("Range"), bytes.length);
        if (range != null && range.length == 0) {
            resp.setStatusCode(416).putHeader("Content-Range", "bytes */" + bytes.length).end();
            return;
        }
        int from = 0;
        int to = bytes.length; // exclusive
        if (range != null) {
            from = (int) range[0];
            to = (int) range[1] + 1;
            resp.setStatusCode(206).putHeader("Content-Range", "bytes " + from + "-" + (to - 1) + "/" + bytes.length);
        }
        resp.putHeader("Content-Length", Integer.toString(to - from));
        if (head) {
            resp.end();
        } else {
            resp.end(Buffer.buffer(from == 0 && to == bytes.length ? bytes : Arrays.copyOfRange(bytes, from, to)));
        }
    }

    /**
     * Sends the first {@code sentLength} bytes of {@code body} (file, then zeros) with back-pressure; closes
     * the connection instead of ending the response when fewer bytes are sent than declared.
     */
    private void pump(RoutingContext ctx, FileBody body, long offset, Future<Void> lastWrite, Buffer zeros) {
        HttpServerResponse resp = ctx.response();
        long at = offset;
        Future<Void> last = lastWrite;
        while (at < body.sentLength()) {
            if (resp.closed()) {
                return;
            }
            int n = (int) Math.min(CHUNK, body.sentLength() - at);
            Buffer chunk;
            if (at < body.bytes().length) {
                int end = (int) Math.min(body.bytes().length, at + n);
                chunk = Buffer.buffer(Arrays.copyOfRange(body.bytes(), (int) at, end));
                n = end - (int) at;
            } else {
                chunk = n == CHUNK ? zeros : zeros.getBuffer(0, n);
            }
            last = resp.write(chunk);
            at += n;
            if (resp.writeQueueFull()) {
                long next = at;
                Future<Void> pending = last;
                resp.drainHandler(v -> pump(ctx, body, next, pending, zeros));
                return;
            }
        }
        if (body.sentLength() < body.declaredLength()) {
            HttpConnection connection = ctx.request().connection();
            last.onComplete(v -> connection.close());
        } else {
            resp.end();
        }
    }

    /** null: no (usable) range, serve all; empty: unsatisfiable; else {first, last} inclusive. */
    static long[] parseRange(String header, long length) {
        if (header == null || !header.startsWith("bytes=") || header.indexOf(',') >= 0) {
            return null;
        }
        String spec = header.substring("bytes=".length()).trim();
        int dash = spec.indexOf('-');
        if (dash < 0) {
            return null;
        }
        try {
            String a = spec.substring(0, dash).trim();
            String b = spec.substring(dash + 1).trim();
            long first;
            long last;
            if (a.isEmpty()) {
                long suffix = Long.parseLong(b);
                if (suffix <= 0) {
                    return new long[0];
                }
                first = Math.max(0, length - suffix);
                last = length - 1;
            } else {
                first = Long.parseLong(a);
                if (!b.isEmpty() && Long.parseLong(b) < first) {
                    return null; // syntactically invalid: ignore the header
                }
                last = b.isEmpty() ? length - 1 : Math.min(Long.parseLong(b), length - 1);
            }
            if (first >= length || length == 0) {
                return new long[0];
            }
            return new long[] { first, last };
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
