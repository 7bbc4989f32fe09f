package dev.imagegen.security;

import static dev.imagegen.testsupport.Tokens.bearer;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.smallrye.mutiny.Multi;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.sqlclient.Pool;

import dev.imagegen.storage.ImageStore;
import dev.imagegen.testsupport.Db;
import dev.imagegen.testsupport.JobFactory;
import dev.imagegen.testsupport.Tokens;

/**
 * Stored bytes are someone else's output, and owner ids are shared between users and operators: image
 * answers never let a browser sniff or render a non-image, and no user token can claim the owner id under
 * which operator-made generations are stored.
 */
@QuarkusTest
@TestProfile(HostileProfile.class)
class ContentAndOwnershipTest {

    @Inject
    Pool pool;

    @Inject
    ImageStore store;

    String owner = "content-" + UUID.randomUUID();

    @BeforeEach
    void clean() {
        Db.clean(pool);
    }

    /** Stores {@code bytes} as output 0 of a fresh generation of {@link #owner}; answers the image id. */
    UUID storedImage(String contentType, byte[] bytes) throws Exception {
        UUID generation = JobFactory.generation(pool, owner)[0];
        String key = "test/" + generation + "/0";
        store.put(key, contentType, Multi.createFrom().item(Buffer.buffer(bytes))).await().atMost(Duration.ofSeconds(10));
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        return Db.query(pool, """
                INSERT INTO images (generation_id, output_index, storage_key, content_type, size_bytes, sha256)
                VALUES ($1, 0, $2, $3, $4, $5) RETURNING id""", generation, key, contentType, (long) bytes.length, sha)
                .get(0).getUUID(0);
    }

    @Test
    void aStoredNonImageIsServedAsADownloadThatNoBrowserSniffs() throws Exception {
        byte[] html = "<html><script>alert(document.cookie)</script></html>".getBytes(StandardCharsets.UTF_8);
        for (String type : new String[] { "application/octet-stream", "image/svg+xml", "text/html" }) {
            UUID image = storedImage(type, html);
            given().header("Authorization", bearer(Tokens.user(owner))).get("/v1/images/" + image + "/content").then()
                    .statusCode(200)
                    .header("X-Content-Type-Options", "nosniff")
                    .header("Content-Disposition", startsWith("attachment"))
                    .header("Content-Type", "application/octet-stream");
            Db.clean(pool);
        }
    }

    @Test
    void aRasterImageIsShownInlineAndStillNotSniffed() throws Exception {
        byte[] png = { (byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 0 };
        UUID image = storedImage("image/png", png);
        String token = bearer(Tokens.user(owner));
        String etag = given().header("Authorization", token).get("/v1/images/" + image + "/content").then()
                .statusCode(200)
                .header("X-Content-Type-Options", "nosniff")
                .header("Content-Disposition", "inline")
                .header("Content-Type", "image/png")
                .extract().header("ETag");
        given().header("Authorization", token).header("Range", "bytes=0-3").get("/v1/images/" + image + "/content").then()
                .statusCode(206).header("X-Content-Type-Options", "nosniff");
        given().header("Authorization", token).header("If-None-Match", etag).get("/v1/images/" + image + "/content").then()
                .statusCode(304).header("X-Content-Type-Options", "nosniff");
    }

    @Test
    void aUserTokenWithTheOperatorOwnerIdCannotReadOperatorGenerations() {
        String id = given().header("Authorization", bearer(Tokens.operator())).contentType(ContentType.JSON)
                .body("{\"prompt\":\"made by an operator\"}").post("/v1/generations").then()
                .statusCode(202).extract().path("generation_id");
        String impostor = bearer(Tokens.user("service_role"));
        given().header("Authorization", impostor).get("/v1/generations/" + id).then()
                .statusCode(401).header("WWW-Authenticate", "Bearer").contentType("application/problem+json");
        given().header("Authorization", impostor).get("/v1/generations").then().statusCode(401);
        given().header("Authorization", bearer(Tokens.operator())).get("/v1/generations/" + id).then()
                .statusCode(200).body("prompt", equalTo("made by an operator"));
    }
}
