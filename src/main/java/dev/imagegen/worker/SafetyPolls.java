package dev.imagegen.worker;

import java.time.Duration;
import java.time.Instant;

import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import dev.imagegen.config.ImagegenConfig;

/**
 * When a job in webhook mode polls its prediction in case the webhook was lost. The webhook is the rule, the
 * poll a safety net: the first comes {@code webhook-safety-poll-interval} (60 s) after the create, later ones
 * after half the prediction's age (a prediction that ran 4 minutes is polled 2 minutes later) up to
 * {@code webhook-safety-poll-max-interval}, and all of this replica's polls are spread by a {@link PollCalendar}
 * so they never exceed {@code webhook-safety-polls-per-minute}. Measured: with 10,000 predictions in flight,
 * a fixed 60 s poll alone was ~10,000 GETs a minute, over Replicate's 3,000 a minute for such endpoints.
 */
@ApplicationScoped
public class SafetyPolls {

    @Inject
    ImagegenConfig config;

    private PollCalendar calendar;

    @PostConstruct
    void init() {
        int perMinute = config.replicate().webhookSafetyPollsPerMinute();
        // An hour ahead: room for 60 minutes' worth of polls (60,000 at the default rate), far more than one
        // poll outstanding per prediction in flight; no poll waits past the prediction timeout anyway.
        long horizon = Math.max(3600, config.replicate().webhookSafetyPollMaxInterval().toSeconds() * 2);
        calendar = perMinute > 0 ? new PollCalendar(perMinute, horizon) : null;
    }

    /** How long to wait for the webhook of a prediction created at {@code createdAt} (null: now) before polling it. */
    public Duration nextWait(Instant createdAt) {
        Instant now = Instant.now();
        Duration age = createdAt == null || createdAt.isAfter(now) ? Duration.ZERO : Duration.between(createdAt, now);
        Duration wanted = interval(age, config.replicate().webhookSafetyPollInterval(),
                config.replicate().webhookSafetyPollMaxInterval());
        if (calendar == null) {
            return wanted;
        }
        long nowMillis = now.toEpochMilli();
        return Duration.ofMillis(calendar.book(nowMillis, nowMillis + wanted.toMillis()) - nowMillis);
    }

    /** Half the prediction's age, at least {@code first} and at most {@code max}. */
    static Duration interval(Duration age, Duration first, Duration max) {
        Duration half = age.dividedBy(2);
        Duration wanted = half.compareTo(first) > 0 ? half : first;
        return wanted.compareTo(max) < 0 ? wanted : max;
    }
}
