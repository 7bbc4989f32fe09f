package dev.imagegen.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

import org.junit.jupiter.api.Test;

import dev.imagegen.config.ImagegenConfig;

/** The claim pause's windows and states, without the application: its config is a stub of the two keys it reads. */
class ClaimPauseTest {

    ClaimPause pause(Duration initial, Duration max) {
        ImagegenConfig.Worker worker = (ImagegenConfig.Worker) Proxy.newProxyInstance(ClaimPauseTest.class.getClassLoader(),
                new Class<?>[] { ImagegenConfig.Worker.class }, (proxy, method, args) -> switch (method.getName()) {
                    case "claimPauseInitial" -> initial;
                    case "claimPauseMax" -> max;
                    default -> throw new UnsupportedOperationException(method.getName());
                });
        ClaimPause pause = new ClaimPause();
        pause.clock = clock;
        pause.config = (ImagegenConfig) Proxy.newProxyInstance(ClaimPauseTest.class.getClassLoader(),
                new Class<?>[] { ImagegenConfig.class }, (proxy, method, args) -> {
                    if (method.getName().equals("worker")) {
                        return worker;
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
        return pause;
    }

    /** A clock the test moves by hand. */
    static final class TestClock extends Clock {
        Instant now = Instant.parse("2026-12-04T12:00:00Z");

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }
    }

    final TestClock clock = new TestClock();

    @Test
    void nothingIsPausedBeforeARefusal() {
        ClaimPause pause = pause(Duration.ofSeconds(30), Duration.ofMinutes(10));
        assertFalse(pause.paused());
        assertFalse(pause.probing());
        assertTrue(pause.state().isEmpty());
    }

    @Test
    void eachRefusalAfterAPauseDoublesTheWindowUpToTheMax() {
        ClaimPause pause = pause(Duration.ofSeconds(30), Duration.ofMinutes(10));
        Duration[] expected = { Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(120), Duration.ofSeconds(240),
                Duration.ofSeconds(480), Duration.ofMinutes(10), Duration.ofMinutes(10) };
        for (Duration window : expected) {
            assertEquals(window, pause.refused("HTTP 401"));
            assertTrue(pause.paused());
            assertEquals(window, pause.state().orElseThrow().window());
            clock.advance(window);
            assertFalse(pause.paused(), "the window has passed");
            assertTrue(pause.probing(), "one job at a time until a success");
        }
        assertEquals(expected.length, pause.state().orElseThrow().refusals());
    }

    @Test
    void refusalsDuringAPauseDoNotLengthenIt() {
        ClaimPause pause = pause(Duration.ofSeconds(30), Duration.ofMinutes(10));
        pause.refused("HTTP 401");
        Instant until = pause.state().orElseThrow().pausedUntil();
        clock.advance(Duration.ofSeconds(10));
        assertEquals(Duration.ofSeconds(20), pause.refused("HTTP 402"), "the rest of the running pause");
        ClaimPause.State s = pause.state().orElseThrow();
        assertEquals(until, s.pausedUntil());
        assertEquals(Duration.ofSeconds(30), s.window());
        assertEquals(2, s.refusals());
        assertTrue(s.paused());
        assertEquals("HTTP 402", s.reason(), "the latest reason is shown");
    }

    @Test
    void aSuccessEndsThePauseAndTheNextRefusalStartsFromTheFirstWindow() {
        ClaimPause pause = pause(Duration.ofSeconds(30), Duration.ofMinutes(10));
        pause.refused("HTTP 401");
        clock.advance(Duration.ofSeconds(30));
        pause.refused("HTTP 401");
        pause.succeeded();
        assertFalse(pause.paused());
        assertFalse(pause.probing());
        assertTrue(pause.state().isEmpty());
        assertEquals(Duration.ofSeconds(30), pause.refused("HTTP 402"));
    }
}
