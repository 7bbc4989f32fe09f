package dev.imagegen.browser;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * A headless Chromium for browser tests: Debian's {@code chromium} and {@code chromium-driver}
 * ({@code /usr/bin/chromium}, {@code /usr/bin/chromedriver}; {@code CHROMIUM_BIN} and {@code CHROMEDRIVER_BIN}
 * override). Both paths are given to Selenium, so Selenium Manager never runs (it would try to download).
 * Without them a test is skipped with a message, except on CI ({@code CI=true}), where it fails.
 */
final class Chromium {

    private Chromium() {
    }

    static ChromeDriver start() {
        File browser = new File(env("CHROMIUM_BIN", "/usr/bin/chromium"));
        File driver = new File(env("CHROMEDRIVER_BIN", "/usr/bin/chromedriver"));
        if (!browser.canExecute() || !driver.canExecute()) {
            String why = "No Chromium for the browser tests: " + browser + " and " + driver
                    + " must exist (apt-get install chromium chromium-driver; .ci/run does it).";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                Assertions.fail(why);
            }
            System.err.println("WARNING: " + why + " Browser tests skipped (CI is not set).");
            Assumptions.abort(why + " Skipped (CI is not set).");
        }
        Path profile;
        try {
            // A fresh profile per run, under target/ so that "mvn clean" removes it.
            Files.createDirectories(Path.of("target"));
            profile = Files.createTempDirectory(Path.of("target"), "chromium-profile-").toAbsolutePath();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        ChromeOptions options = new ChromeOptions();
        options.setBinary(browser);
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--user-data-dir=" + profile, "--window-size=1280,1000");
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(driver)
                .usingAnyFreePort()
                .withTimeout(Duration.ofSeconds(30))
                .build();
        ChromeDriver chrome = new ChromeDriver(service, options);
        chrome.manage().timeouts().scriptTimeout(Duration.ofSeconds(30));
        return chrome;
    }

    private static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? fallback : v;
    }
}
