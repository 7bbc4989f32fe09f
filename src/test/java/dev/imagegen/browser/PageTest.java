package dev.imagegen.browser;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;

/** The page at {@code /} as served (BrowserFlowTest drives it in a real browser), and the dev-only token route. */
@QuarkusTest
class PageTest {

    @Test
    void theRootServesOneSelfContainedHtmlPage() {
        String html = given().get("/").then()
                .statusCode(200)
                .contentType(startsWith("text/html"))
                .extract().asString();
        assertTrue(html.contains("events_url"), "the page follows generations through events_url");
        assertFalse(Pattern.compile("<script[^>]+src=", Pattern.CASE_INSENSITIVE).matcher(html).find(),
                "no script from elsewhere (nor from a file: everything is inline)");
        assertFalse(Pattern.compile("<link[^>]+stylesheet", Pattern.CASE_INSENSITIVE).matcher(html).find(),
                "no style sheet from elsewhere");
        assertFalse(html.contains("localStorage.setItem") || html.contains("document.cookie ="),
                "the token is kept in the tab only");
        assertTrue(html.contains("sessionStorage"), "the token is kept in the tab (sessionStorage)");
    }

    @Test
    void theDemoTokenRouteExistsInDevModeOnly() {
        given().get("/dev/demo-token").then()
                .statusCode(404)
                .contentType(equalTo("application/problem+json"))
                .body(containsString("\"status\":404"));
    }
}
