package dev.imagegen.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import io.vertx.core.json.JsonObject;

/** Blocking HTTP/1.1 calls for tests (java.net.http), with short timeouts. */
public final class TestHttp {

    private static final HttpClient CLIENT = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    private TestHttp() {
    }

    /** {@code POST url} with a JSON body; {@code headers} are name, value pairs. */
    public static HttpResponse<String> post(String url, JsonObject body, String... headers) {
        return send(request(url, headers).POST(HttpRequest.BodyPublishers.ofString(body == null ? "" : body.encode()))
                .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
    }

    public static HttpResponse<String> get(String url, String... headers) {
        return send(request(url, headers).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    public static HttpResponse<byte[]> getBytes(String url, String... headers) {
        return send(request(url, headers).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    /** Sends and lets the {@link IOException} through (for faults that break the connection). */
    public static <T> HttpResponse<T> sendRaw(HttpRequest request, HttpResponse.BodyHandler<T> handler)
            throws IOException, InterruptedException {
        return CLIENT.send(request, handler);
    }

    public static HttpRequest.Builder request(String url, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(70));
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return b;
    }

    public static JsonObject json(HttpResponse<String> response) {
        return new JsonObject(response.body());
    }

    private static <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
        try {
            return CLIENT.send(request, handler);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
