package dev.imagegen.browser;

import static dev.imagegen.testsupport.Tokens.bearer;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

import com.sun.net.httpserver.HttpServer;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;

import dev.imagegen.testsupport.Db;
import dev.imagegen.testsupport.Tokens;

/**
 * The page at {@code /} in a real headless Chromium, against the running service, its database, worker and
 * the Replicate fake: a person's whole flow (keyboard only, phone-sized screen), the operator view, and a
 * plain {@code EventSource} on {@code events_url} from another origin that CORS allows (and one it does not).
 * Screenshots go to {@code target/browser/}.
 */
@QuarkusTest
@TestProfile(BrowserFlowTest.Profile.class)
class BrowserFlowTest {

    /** Absolute links (images, events_url) must point at this test's server: a fixed port known before start-up. */
    public static class Profile implements QuarkusTestProfile {

        static final int PORT = freePort();

        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("quarkus.http.test-port", String.valueOf(PORT),
                    "imagegen.public-base-url", "http://localhost:" + PORT);
        }
    }

    static final Duration WAIT = Duration.ofSeconds(30);
    static final Path SHOTS = Path.of("target", "browser");

    static ChromeDriver chrome;
    /** Serves a blank page on another origin, for the cross-origin EventSource tests. */
    static HttpServer otherOrigin;

    @Inject
    Pool pool;

    final String base = "http://localhost:" + Profile.PORT;
    final String userId = "browser-" + UUID.randomUUID();
    final String user = Tokens.user(userId);

    @BeforeAll
    static void startOtherOrigin() throws IOException {
        otherOrigin = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        otherOrigin.createContext("/", exchange -> {
            byte[] page = "<!DOCTYPE html><title>another origin</title><p>another origin</p>".getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "text/html; charset=utf-8");
            exchange.sendResponseHeaders(200, page.length);
            exchange.getResponseBody().write(page);
            exchange.close();
        });
        otherOrigin.start();
        Files.createDirectories(SHOTS);
    }

    @AfterAll
    static void stopBrowser() {
        if (chrome != null) {
            chrome.quit();
        }
        if (otherOrigin != null) {
            otherOrigin.stop(0);
        }
    }

    /** Starts the browser once, in the first test: without one, every test is reported as skipped (or fails on CI). */
    @BeforeEach
    void browserAndCleanTables() {
        if (chrome == null) {
            chrome = Chromium.start();
        }
        Db.clean(pool);
    }

    WebDriverWait waiting() {
        return new WebDriverWait(chrome, WAIT);
    }

    JavascriptExecutor js() {
        return chrome;
    }

    /** Opens the page in a fresh tab state (no token kept from an earlier test) at the given window size. */
    void openPage(int width, int height) {
        chrome.manage().window().setSize(new Dimension(width, height));
        chrome.get(base + "/");
        js().executeScript("sessionStorage.clear()");
        chrome.navigate().refresh();
        waiting().until(ExpectedConditions.elementToBeClickable(By.id("token")));
    }

    /** Pastes a token and leaves the field with Tab, as a person does (its change event loads the lists). */
    void pasteToken(String token) {
        WebElement field = chrome.findElement(By.id("token"));
        field.clear();
        field.sendKeys(token, Keys.TAB);
    }

    /** A screenshot of one section of the page (scrolled into view). */
    void screenshot(String sectionId, String name) throws IOException {
        WebElement section = chrome.findElement(By.id(sectionId));
        js().executeScript("arguments[0].scrollIntoView()", section);
        Path shot = section.getScreenshotAs(OutputType.FILE).toPath();
        Files.copy(shot, SHOTS.resolve(name), StandardCopyOption.REPLACE_EXISTING);
    }

    @Test
    void aPersonGeneratesAnImageWithTheKeyboardOnAPhoneSizedScreenAndSeesItLive() throws Exception {
        openPage(390, 844);
        pasteToken(user);
        // Keyboard only: the prompt field, then Tab through model and size to the Generate button, and Enter.
        WebElement prompt = chrome.findElement(By.id("prompt"));
        prompt.click();
        prompt.sendKeys("A lighthouse at dusk, oil painting");
        new Select(chrome.findElement(By.id("size"))).selectByValue("512x512");
        prompt.sendKeys(Keys.TAB); // model
        chrome.switchTo().activeElement().sendKeys(Keys.TAB); // size
        chrome.switchTo().activeElement().sendKeys(Keys.TAB); // Generate
        assertEquals("generate", chrome.switchTo().activeElement().getAttribute("id"), "Tab reaches the Generate button");
        chrome.switchTo().activeElement().sendKeys(Keys.ENTER);

        // The status changes live (through events_url) up to completed, and the image appears.
        waiting().until(d -> "completed".equals(d.findElement(By.id("current")).getAttribute("data-status")));
        WebElement image = waiting().until(ExpectedConditions.visibilityOfElementLocated(By.id("result-image")));
        waiting().until(d -> ((Number) js().executeScript("return arguments[0].complete && arguments[0].naturalWidth",
                image)).intValue() > 0);

        // The image the browser got is the stored file, byte for byte.
        String b64 = (String) js().executeAsyncScript("""
                const done = arguments[arguments.length - 1];
                fetch(arguments[0].src).then(r => r.arrayBuffer()).then(buf => {
                  let s = ''; const bytes = new Uint8Array(buf);
                  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
                  done(btoa(s));
                }).catch(e => done('error: ' + e));""", image);
        var row = Db.query(pool, """
                SELECT i.storage_key FROM images i JOIN image_generations g ON g.id = i.generation_id
                 WHERE g.user_id = $1""", userId);
        assertEquals(1, row.size());
        byte[] stored = Files.readAllBytes(Path.of("target", "test-images").resolve(row.get(0).getString(0)));
        assertArrayEquals(stored, Base64.getDecoder().decode(b64), "the browser shows the stored file's bytes");

        // The recent list shows it with its thumbnail; the page fits the phone's width.
        waiting().until(d -> !d.findElements(By.cssSelector("#recent li img")).isEmpty());
        assertTrue(((Number) js().executeScript("return document.documentElement.scrollWidth - window.innerWidth"))
                .intValue() <= 0, "no horizontal scrolling on a phone-sized screen");
        // The token lives in this tab only.
        assertEquals(user, js().executeScript("return sessionStorage.getItem('imagegen.token')"));
        assertEquals(0L, js().executeScript("return localStorage.length"));
        assertEquals("", js().executeScript("return document.cookie"));
        screenshot("generate-section", "user-flow.png");
    }

    @Test
    void anErrorIsShownAsTheProblemsDetail() {
        openPage(1280, 900);
        pasteToken(user);
        chrome.findElement(By.id("generate")).click(); // an empty prompt
        WebElement error = waiting().until(d -> {
            WebElement e = d.findElement(By.id("error"));
            return e.getText().isBlank() ? null : e;
        });
        assertTrue(error.getText().contains("prompt"), error.getText());
    }

    @Test
    void anOperatorSeesQueueHealthAndRetriesAFailedJob() throws Exception {
        UUID generation = Db.query(pool, """
                INSERT INTO image_generations (user_id, prompt, model_id, parameters, status, error_message, completed_at)
                VALUES ($1, 'a failed one', 'black-forest-labs/flux-schnell',
                        '{"width":512,"height":512,"num_outputs":1,"output_format":"png"}', 'failed', 'Replicate said no', now())
                RETURNING id""", userId).get(0).getUUID(0);
        UUID job = Db.query(pool, """
                INSERT INTO job_queue (job_type, payload, generation_id, status, attempt_number, error_message, completed_at)
                VALUES ('generate_image', jsonb_build_object('generation_id', $1::uuid), $1, 'failed', 3,
                        'Replicate said no', now())
                RETURNING id""", generation).get(0).getUUID(0);

        openPage(1280, 1100);
        pasteToken(Tokens.operator());
        waiting().until(ExpectedConditions.visibilityOfElementLocated(By.id("operator")));
        WebElement retry = waiting().until(ExpectedConditions.elementToBeClickable(
                By.cssSelector("button[data-job='" + job + "']")));
        assertEquals("1", chrome.findElement(By.id("health-failed_last_hour")).getText());
        screenshot("operator", "operator-view.png");

        retry.sendKeys(Keys.ENTER); // keyboard again
        waiting().until(ExpectedConditions.invisibilityOfElementLocated(By.cssSelector("button[data-job='" + job + "']")));
        String status = Db.query(pool, "SELECT status FROM job_queue WHERE id = $1", job).get(0).getString(0);
        assertTrue(List.of("pending", "processing", "completed").contains(status), status);
    }

    @Test
    void anEventSourceOnAnotherAllowedOriginFollowsEventsUrlAndADisallowedOneCannot() {
        JsonObject answer = new JsonObject(given().header("Authorization", bearer(user)).contentType(ContentType.JSON)
                .body("{\"prompt\":\"cross-origin\",\"width\":512,\"height\":512}")
                .post(base + "/v1/generations").then().statusCode(202).extract().asString());
        String eventsUrl = answer.getString("events_url");
        assertTrue(eventsUrl.startsWith(base + "/"), eventsUrl);

        // http://127.0.0.1:<port> is allowed by the test profile's IMAGEGEN_CORS_ORIGINS; the service is on localhost.
        chrome.get("http://127.0.0.1:" + otherOrigin.getAddress().getPort() + "/");
        assertEquals("completed", follow(eventsUrl));

        // http://localhost:<port> is another origin that is not configured: the browser refuses the stream.
        chrome.get("http://localhost:" + otherOrigin.getAddress().getPort() + "/");
        assertEquals("error", follow(eventsUrl));
    }

    /** Follows a link with a plain EventSource in the current page: the last status, or "error". */
    String follow(String eventsUrl) {
        return (String) js().executeAsyncScript("""
                const done = arguments[arguments.length - 1];
                const es = new EventSource(arguments[0]);
                let last = null;
                es.addEventListener('status', e => {
                  last = JSON.parse(e.data).status;
                  if (['completed', 'failed', 'canceled'].includes(last)) { es.close(); done(last); }
                });
                es.onerror = () => { es.close(); done(last === null ? 'error' : 'error after ' + last); };""",
                eventsUrl);
    }

    static int freePort() {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
