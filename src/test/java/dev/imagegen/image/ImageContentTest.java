package dev.imagegen.image;

import static dev.imagegen.testsupport.Tokens.bearer;
import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.UUID;

import jakarta.inject.Inject;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.quarkus.arc.ClientProxy;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;

import dev.imagegen.testsupport.Db;
import dev.imagegen.testsupport.FakeReplicate;
import dev.imagegen.testsupport.InjectFakeReplicate;
import dev.imagegen.testsupport.Tokens;

/** {@code GET|HEAD /v1/images/{id}/content} on an image the worker really produced and stored. */
@QuarkusTest
class ImageContentTest {

    static final Duration WAIT = Duration.ofSeconds(30);

    static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    @Inject
    Pool pool;

    @Inject
    ImageLinks links;

    @InjectFakeReplicate
    FakeReplicate replicate;

    @ConfigProperty(name = "imagegen.storage.dir")
    String storageDir;

    @TestHTTPResource("/")
    URL base;

    String user = Tokens.user("images-" + UUID.randomUUID());

    /** The completed generation's first image: its signed link (path and query), row, and stored bytes. */
    String link;
    UUID imageId;
    Row image;
    byte[] stored;
    String etag;

    @BeforeEach
    void completedGeneration() throws Exception {
        Db.clean(pool);
        replicate.reset();
        String id = given().header("Authorization", bearer(user)).contentType(ContentType.JSON)
                .body("{\"prompt\":\"a red kite\",\"width\":256,\"height\":256,\"output_format\":\"png\"}")
                .post("/v1/generations").then().statusCode(202).extract().path("generation_id");
        await().atMost(WAIT).pollInterval(Duration.ofMillis(50)).until(() -> "completed".equals(
                Db.query(pool, "SELECT status FROM image_generations WHERE id = $1", UUID.fromString(id)).get(0).getString(0)));
        JsonObject generation = new JsonObject(given().header("Authorization", bearer(user)).get("/v1/generations/" + id)
                .then().statusCode(200).extract().asString());
        URI url = URI.create(generation.getJsonArray("images").getJsonObject(0).getString("url"));
        assertTrue(url.isAbsolute(), url.toString());
        link = url.getRawPath() + "?" + url.getRawQuery();
        imageId = UUID.fromString(generation.getJsonArray("images").getJsonObject(0).getString("id"));
        image = Db.query(pool, "SELECT * FROM images WHERE id = $1", imageId).get(0);
        stored = Files.readAllBytes(Path.of(storageDir).resolve(image.getString("storage_key")));
        etag = "\"" + image.getString("sha256") + "\"";
        assertTrue(stored.length > 200, "a real PNG, long enough for the ranges below");
    }

    HttpResponse<byte[]> send(String method, String pathAndQuery, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base.toString().replaceAll("/$", "") + pathAndQuery))
                .timeout(Duration.ofSeconds(30)).method(method, HttpRequest.BodyPublishers.noBody());
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    HttpResponse<byte[]> get(String pathAndQuery, String... headers) throws Exception {
        return send("GET", pathAndQuery, headers);
    }

    static String header(HttpResponse<?> r, String name) {
        return r.headers().firstValue(name).orElse(null);
    }

    static JsonObject problem(HttpResponse<byte[]> r) {
        assertEquals("application/problem+json", header(r, "Content-Type"));
        return new JsonObject(new String(r.body(), StandardCharsets.UTF_8));
    }

    String withoutSignature() {
        return "/v1/images/" + imageId + "/content";
    }

    @Test
    void theSignedLinkWithNoHeaderServesTheStoredBytesWithCachingHeaders() throws Exception {
        HttpResponse<byte[]> r = get(link);
        assertEquals(200, r.statusCode());
        assertArrayEquals(stored, r.body());
        assertEquals("image/png", header(r, "Content-Type"));
        assertEquals(String.valueOf(stored.length), header(r, "Content-Length"));
        assertEquals(etag, header(r, "ETag"));
        assertEquals("bytes", header(r, "Accept-Ranges"));
        assertTrue(header(r, "Cache-Control").contains("max-age"), header(r, "Cache-Control"));
        assertNull(header(r, "Transfer-Encoding"));
    }

    @Test
    void ifNoneMatchWithTheETagAnswers304() throws Exception {
        for (String value : new String[] {etag, "\"other\", " + etag, "W/" + etag, "*"}) {
            HttpResponse<byte[]> r = get(link, "If-None-Match", value);
            assertEquals(304, r.statusCode(), value);
            assertEquals(0, r.body().length);
            assertEquals(etag, header(r, "ETag"));
        }
        HttpResponse<byte[]> changed = get(link, "If-None-Match", "\"something-else\"");
        assertEquals(200, changed.statusCode());
        assertArrayEquals(stored, changed.body());
    }

    @Test
    void aSingleRangeAnswers206WithThatSlice() throws Exception {
        int size = stored.length;
        record Case(String range, int first, int last) {
        }
        for (Case c : new Case[] {
                new Case("bytes=0-99", 0, 99),
                new Case("bytes=100-", 100, size - 1),
                new Case("bytes=-50", size - 50, size - 1),
                new Case("bytes=10-" + (size + 1000), 10, size - 1),
                new Case("bytes=-" + (size + 1000), 0, size - 1),
                new Case("bytes=" + (size - 1) + "-" + (size - 1), size - 1, size - 1)}) {
            HttpResponse<byte[]> r = get(link, "Range", c.range());
            assertEquals(206, r.statusCode(), c.range());
            assertArrayEquals(Arrays.copyOfRange(stored, c.first(), c.last() + 1), r.body(), c.range());
            assertEquals("bytes " + c.first() + "-" + c.last() + "/" + size, header(r, "Content-Range"), c.range());
            assertEquals(String.valueOf(c.last() - c.first() + 1), header(r, "Content-Length"), c.range());
            assertEquals(etag, header(r, "ETag"));
        }
    }

    @Test
    void anUnsatisfiableOrInvalidRangeAnswers416() throws Exception {
        int size = stored.length;
        for (String range : new String[] {"bytes=" + size + "-", "bytes=" + (size + 10) + "-" + (size + 20), "bytes=-0",
                "bytes=9-2", "bytes=abc", "bytes=1"}) {
            HttpResponse<byte[]> r = get(link, "Range", range);
            assertEquals(416, r.statusCode(), range);
            assertEquals("bytes */" + size, header(r, "Content-Range"), range);
            assertEquals(416, problem(r).getInteger("status"));
        }
    }

    @Test
    void severalRangesAnotherUnitOrAStaleIfRangeSendTheWholeImage() throws Exception {
        for (String[] headers : new String[][] {
                {"Range", "bytes=0-1,5-6"},
                {"Range", "items=0-1"},
                {"Range", "bytes=0-1", "If-Range", "\"stale\""}}) {
            HttpResponse<byte[]> r = get(link, headers);
            assertEquals(200, r.statusCode(), String.join(" ", headers));
            assertArrayEquals(stored, r.body());
        }
        HttpResponse<byte[]> current = get(link, "Range", "bytes=0-1", "If-Range", etag);
        assertEquals(206, current.statusCode());
    }

    @Test
    void aTamperedOrExpiredLinkIs403() throws Exception {
        String tampered = link.substring(0, link.length() - 2) + (link.endsWith("AA") ? "BB" : "AA");
        JsonObject p = problem(get(tampered));
        assertEquals(403, p.getInteger("status"));
        assertTrue(p.getString("detail").contains("not valid"), p.getString("detail"));

        String otherExpiry = link.replaceFirst("expires=(\\d+)", "expires=" + (Long.parseLong(
                link.replaceFirst(".*expires=(\\d+).*", "$1")) + 3600));
        assertEquals(403, get(otherExpiry).statusCode(), "the expiry is signed too");
        assertEquals(403, get(withoutSignature() + "?expires=99999999999").statusCode(), "expires without sig");

        // A link made yesterday: its signature is right but its time is over.
        ImageLinks real = ClientProxy.unwrap(links);
        Clock original = real.clock;
        String old;
        try {
            real.clock = Clock.offset(Clock.systemUTC(), Duration.ofDays(-1));
            URI u = URI.create(links.url(imageId));
            old = u.getRawPath() + "?" + u.getRawQuery();
        } finally {
            real.clock = original;
        }
        JsonObject expired = problem(get(old));
        assertEquals(403, expired.getInteger("status"));
        assertTrue(expired.getString("detail").contains("expired"), expired.getString("detail"));
        // A token does not rescue a bad link: the link is what is checked.
        assertEquals(403, get(old, "Authorization", bearer(user)).statusCode());
    }

    @Test
    void withoutALinkTheOwnersBearerTokenIsNeeded() throws Exception {
        HttpResponse<byte[]> owner = get(withoutSignature(), "Authorization", bearer(user));
        assertEquals(200, owner.statusCode());
        assertArrayEquals(stored, owner.body());
        assertEquals(200, get(withoutSignature(), "Authorization", bearer(Tokens.operator())).statusCode());

        HttpResponse<byte[]> stranger = get(withoutSignature(), "Authorization", bearer(Tokens.user("someone-else")));
        assertEquals(404, stranger.statusCode());
        assertEquals(404, problem(stranger).getInteger("status"));
        assertEquals(404, get("/v1/images/" + UUID.randomUUID() + "/content", "Authorization", bearer(user)).statusCode());
        assertEquals(404, get("/v1/images/not-a-uuid/content", "Authorization", bearer(user)).statusCode());

        HttpResponse<byte[]> anonymous = get(withoutSignature());
        assertEquals(401, anonymous.statusCode());
        assertEquals("Bearer", header(anonymous, "WWW-Authenticate"));
        assertEquals(401, problem(anonymous).getInteger("status"));
        HttpResponse<byte[]> badToken = get(withoutSignature(), "Authorization", "Bearer not.a.token");
        assertEquals(401, badToken.statusCode());
        assertEquals(401, problem(badToken).getInteger("status"));
    }

    @Test
    void headAnswersTheHeadersOfGetWithoutTheBytes() throws Exception {
        HttpResponse<byte[]> r = send("HEAD", link);
        assertEquals(200, r.statusCode());
        assertEquals(0, r.body().length);
        assertEquals(String.valueOf(stored.length), header(r, "Content-Length"));
        assertEquals(etag, header(r, "ETag"));
        assertEquals("image/png", header(r, "Content-Type"));
        HttpResponse<byte[]> partial = send("HEAD", link, "Range", "bytes=0-9");
        assertEquals(206, partial.statusCode());
        assertEquals("10", header(partial, "Content-Length"));
        assertEquals(304, send("HEAD", link, "If-None-Match", etag).statusCode());
    }

    @Test
    void anImageMissingFromStorageIs404() throws Exception {
        Files.delete(Path.of(storageDir).resolve(image.getString("storage_key")));
        HttpResponse<byte[]> r = get(link);
        assertEquals(404, r.statusCode());
        assertEquals(404, problem(r).getInteger("status"));
    }
}
