package dev.imagegen.browser;

import static dev.imagegen.testsupport.Tokens.bearer;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsStringIgnoringCase;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;

import java.util.UUID;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;

import dev.imagegen.testsupport.Tokens;

/**
 * CORS for {@code IMAGEGEN_CORS_ORIGINS} (the test profile allows {@code https://app.example.com} and
 * {@code http://127.0.0.1:<any port>}): preflights, exposed headers, and an origin that is not allowed.
 */
@QuarkusTest
class CorsTest {

    static final String ALLOWED = "https://app.example.com";

    @Test
    void aPreflightFromAnAllowedOriginAllowsTheBearerHeaderAndJsonBody() {
        given().header("Origin", ALLOWED)
                .header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "authorization,content-type,idempotency-key")
                .options("/v1/generations")
                .then()
                .statusCode(200)
                .header("Access-Control-Allow-Origin", equalTo(ALLOWED))
                .header("Access-Control-Allow-Methods", containsStringIgnoringCase("POST"))
                .header("Access-Control-Allow-Headers", containsStringIgnoringCase("authorization"))
                .header("Access-Control-Allow-Headers", containsStringIgnoringCase("content-type"));
    }

    @Test
    void anAllowedOriginMayReadLocationAndRetryAfter() {
        given().header("Origin", ALLOWED)
                .header("Authorization", bearer(Tokens.user("cors-" + UUID.randomUUID())))
                .contentType(ContentType.JSON).body("{\"prompt\":\"cors\"}")
                .post("/v1/generations")
                .then()
                .statusCode(202)
                .header("Access-Control-Allow-Origin", equalTo(ALLOWED))
                .header("Access-Control-Expose-Headers", containsStringIgnoringCase("Location"))
                .header("Access-Control-Expose-Headers", containsStringIgnoringCase("Retry-After"));
    }

    @Test
    void anOriginMatchingTheConfiguredPatternIsAllowed() {
        given().header("Origin", "http://127.0.0.1:43210")
                .header("Access-Control-Request-Method", "GET")
                .options("/v1/generations")
                .then()
                .statusCode(200)
                .header("Access-Control-Allow-Origin", equalTo("http://127.0.0.1:43210"));
    }

    @Test
    void anOriginThatIsNotConfiguredGetsNoCorsGrant() {
        given().header("Origin", "https://evil.example.net")
                .header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "authorization")
                .options("/v1/generations")
                .then()
                .header("Access-Control-Allow-Origin", nullValue());
    }
}
