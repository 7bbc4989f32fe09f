package dev.imagegen.auth;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;

import dev.imagegen.testsupport.Tokens;

@QuarkusTest
class AuthTest {

    static String hs512(String header, String payload) throws Exception {
        Base64.Encoder enc = Base64.getUrlEncoder().withoutPadding();
        String input = enc.encodeToString(header.getBytes(StandardCharsets.UTF_8)) + "."
                + enc.encodeToString(payload.getBytes(StandardCharsets.UTF_8));
        Mac mac = Mac.getInstance("HmacSHA512");
        mac.init(new SecretKeySpec(Tokens.SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA512"));
        return input + "." + enc.encodeToString(mac.doFinal(input.getBytes(StandardCharsets.US_ASCII)));
    }

    static String[] badAuthorizations() throws Exception {
        long exp = Tokens.inSeconds(3600);
        String claims = "{\"sub\":\"u1\",\"role\":\"authenticated\",\"exp\":" + exp + "}";
        return new String[] {
                "",
                "Bearer",
                "Bearer ",
                "Bearer not-a-jwt",
                "Bearer a.b.c",
                "Basic dXNlcjpwYXNz",
                "Bearer " + Tokens.raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims, "some-other-secret-some-other-secret!"),
                "Bearer " + Tokens.raw("{\"alg\":\"none\",\"typ\":\"JWT\"}", claims, null),
                "Bearer " + hs512("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", claims),
                "Bearer " + Tokens.raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
                        "{\"sub\":\"u1\",\"role\":\"authenticated\",\"exp\":" + Tokens.inSeconds(-3600) + "}", Tokens.SECRET),
                "Bearer " + Tokens.raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "{\"sub\":\"u1\",\"role\":\"authenticated\"}",
                        Tokens.SECRET),
                "Bearer " + Tokens.raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
                        "{\"role\":\"authenticated\",\"exp\":" + exp + "}", Tokens.SECRET),
                "Bearer " + Tokens.raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "not json", Tokens.SECRET),
        };
    }

    @ParameterizedTest
    @MethodSource("badAuthorizations")
    void badOrMissingTokensAre401ProblemsWithChallenge(String authorization) {
        var req = given();
        if (!authorization.isEmpty()) {
            req = req.header("Authorization", authorization);
        }
        req.get("/v1/generations").then()
                .statusCode(401)
                .header("WWW-Authenticate", "Bearer")
                .contentType("application/problem+json")
                .body("status", equalTo(401));
        var post = given();
        if (!authorization.isEmpty()) {
            post = post.header("Authorization", authorization);
        }
        post.contentType(ContentType.JSON).body("{\"prompt\":\"x\"}").post("/v1/generations").then()
                .statusCode(401).header("WWW-Authenticate", "Bearer");
    }

    @Test
    void supabaseStyleTokensWork() {
        String user = Tokens.raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
                "{\"aud\":\"authenticated\",\"sub\":\"4f0a4c8e-2f6b-4f0e-9d1e-7d1c2b3a4f5e\",\"role\":\"authenticated\",\"iat\":"
                        + Tokens.inSeconds(0) + ",\"exp\":" + Tokens.inSeconds(600) + "}",
                Tokens.SECRET);
        given().header("Authorization", "Bearer " + user).get("/v1/generations").then().statusCode(200);
        String serviceRole = Tokens.raw("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
                "{\"iss\":\"supabase\",\"role\":\"service_role\",\"iat\":" + Tokens.inSeconds(0) + ",\"exp\":"
                        + Tokens.inSeconds(600) + "}",
                Tokens.SECRET);
        given().header("Authorization", "Bearer " + serviceRole).get("/v1/generations").then().statusCode(200);
    }
}
