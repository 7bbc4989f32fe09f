package dev.imagegen.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** The calendar that keeps the webhook safety polls under a per-minute rate. */
class PollCalendarTest {

    static final long NOW = 1_000_000_000L; // a whole second, in millis

    @Test
    void aBurstOfPollsIsSpreadAtTheRate() {
        PollCalendar calendar = new PollCalendar(600, 600);
        Map<Long, Integer> perSecond = new HashMap<>();
        for (int i = 0; i < 5_000; i++) {
            long at = calendar.book(NOW, NOW + 60_000);
            assertTrue(at >= NOW + 60_000, "never before it is wanted");
            perSecond.merge(at / 1000, 1, Integer::sum);
        }
        assertTrue(perSecond.values().stream().allMatch(n -> n <= 10), "at most 600 a minute: " + perSecond);
        assertEquals(500, perSecond.size(), "5,000 polls at 10 a second fill 500 seconds");
    }

    @Test
    void pastTheHorizonPollsGoAtItsEnd() {
        PollCalendar calendar = new PollCalendar(600, 100);
        for (int i = 0; i < 1_010; i++) {
            calendar.book(NOW, NOW); // 101 windows of 10
        }
        assertEquals(NOW + 100_000, calendar.book(NOW, NOW));
        assertEquals(NOW + 100_000, calendar.book(NOW, NOW + 500_000), "a wish beyond the horizon is clamped to it");
    }

    @Test
    void pollsWithinTheRateGoWhenWanted() {
        PollCalendar calendar = new PollCalendar(600, 600);
        for (int i = 0; i < 10; i++) {
            assertEquals(NOW + 60_500, calendar.book(NOW, NOW + 60_500));
        }
        assertEquals(NOW + 61_000, calendar.book(NOW, NOW + 60_500), "the 11th of that second goes in the next");
    }

    @Test
    void aLaterBookingDoesNotDelayAnEarlierOne() {
        PollCalendar calendar = new PollCalendar(60, 600);
        assertEquals(NOW + 300_000, calendar.book(NOW, NOW + 300_000));
        assertEquals(NOW + 60_000, calendar.book(NOW, NOW + 60_000));
    }

    @Test
    void aPollWantedInThePastGoesNow() {
        PollCalendar calendar = new PollCalendar(60, 600);
        assertEquals(NOW, calendar.book(NOW, NOW - 5_000));
    }

    @Test
    void belowOneASecondWindowsAreWider() {
        PollCalendar calendar = new PollCalendar(30, 600); // one poll every 2 s
        assertEquals(NOW, calendar.book(NOW, NOW));
        assertEquals(NOW + 2_000, calendar.book(NOW, NOW));
        assertEquals(NOW + 4_000, calendar.book(NOW, NOW));
    }

    @Test
    void windowsThatPassedAreReused() {
        PollCalendar calendar = new PollCalendar(60, 10);
        for (int i = 0; i < 11; i++) {
            calendar.book(NOW, NOW); // fills every window of the ring
        }
        long later = NOW + 3_600_000;
        assertEquals(later, calendar.book(later, later), "an hour later the ring is empty again");
    }
}
