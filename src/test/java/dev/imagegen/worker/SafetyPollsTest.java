package dev.imagegen.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;

import org.junit.jupiter.api.Test;

/**
 * The webhook safety poll backs off with the prediction's age: at 10,000 predictions in flight a fixed 60 s
 * poll alone was ~10,000 GETs a minute, over Replicate's 3,000 a minute.
 */
class SafetyPollsTest {

    static final Duration FIRST = Duration.ofSeconds(60);
    static final Duration MAX = Duration.ofMinutes(5);

    static Duration at(Duration age) {
        return SafetyPolls.interval(age, FIRST, MAX);
    }

    @Test
    void aYoungPredictionIsPolledAfterTheFirstInterval() {
        assertEquals(FIRST, at(Duration.ZERO));
        assertEquals(FIRST, at(Duration.ofSeconds(119)));
    }

    @Test
    void anOlderOneAfterHalfItsAge() {
        assertEquals(Duration.ofMinutes(2), at(Duration.ofMinutes(4)));
        assertEquals(Duration.ofMinutes(4), at(Duration.ofMinutes(8)));
    }

    @Test
    void neverLongerThanTheMaximum() {
        assertEquals(MAX, at(Duration.ofMinutes(30)));
    }

    @Test
    void overTenMinutesAPredictionIsPolledFiveTimesNotTen() {
        // created at 0; webhook lost: polls at 1, 2, 3, 4.5, 6.75, 10.1 minutes
        Duration age = Duration.ZERO;
        int polls = 0;
        while (true) {
            age = age.plus(at(age));
            if (age.compareTo(Duration.ofMinutes(10)) > 0) {
                break;
            }
            polls++;
        }
        assertEquals(5, polls);
    }
}
