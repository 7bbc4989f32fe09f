package dev.imagegen.queue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import dev.imagegen.config.ImagegenConfig;

/**
 * Stops this replica's worker from claiming for a while, for a reason only an operator can fix (today:
 * Replicate refusing the account, a revoked token or no credit). Without it such a refusal would fail the
 * whole queue one job at a time. The first refusal pauses claiming for
 * {@code IMAGEGEN_WORKER_CLAIM_PAUSE_INITIAL}; each refusal after a pause ended doubles the window up to
 * {@code IMAGEGEN_WORKER_CLAIM_PAUSE_MAX}. Between two pauses the worker claims one job at a time (a
 * probe), and the first success ends it all. Refusals during a pause (jobs that were already running) do
 * not lengthen it. In memory, per replica: each replica finds out for itself, as each one calls Replicate.
 */
@ApplicationScoped
public class ClaimPause {

    private static final Logger LOG = Logger.getLogger(ClaimPause.class);

    /** Why and until when claiming is paused, as of one moment, for the operators' health alerts. */
    public record State(String reason, Instant pausedUntil, Duration window, int refusals, Instant since, boolean paused) {
    }

    @Inject
    ImagegenConfig config;

    /** The time source; tests replace it. */
    Clock clock = Clock.systemUTC();

    /** Fast path for the claim loop: when claiming may start again (epoch millis); 0 when nothing is refused. */
    private volatile long pausedUntilMillis;

    // Guarded by this; meaningful while pausedUntilMillis != 0.
    private String reason;
    private Duration window;
    private int refusals;
    private Instant since;

    /**
     * Records a refusal: starts a pause (or the next, longer one) unless one is running. Answers how long
     * the pause still lasts, so the refused job can be returned to the queue for that long.
     */
    public synchronized Duration refused(String why) {
        long now = clock.millis();
        reason = why;
        refusals++;
        if (now < pausedUntilMillis) {
            return Duration.ofMillis(pausedUntilMillis - now);
        }
        if (window == null) {
            window = config.worker().claimPauseInitial();
            since = clock.instant();
        } else {
            window = longer(window);
        }
        pausedUntilMillis = now + window.toMillis();
        LOG.warnf("Claiming paused for %s on this replica: %s", window, why);
        return window;
    }

    /** A job went through: the cause is gone, claiming resumes at full speed. */
    public void succeeded() {
        if (pausedUntilMillis == 0) {
            return;
        }
        synchronized (this) {
            if (window != null) {
                LOG.infof("Claiming resumed on this replica after %d refusal(s) since %s", refusals, since);
            }
            pausedUntilMillis = 0;
            reason = null;
            window = null;
            refusals = 0;
            since = null;
        }
    }

    /** Whether the worker must not claim now. */
    public boolean paused() {
        return pausedUntilMillis > clock.millis();
    }

    /** Whether a refusal has not been followed by a success yet: claim one job at a time. */
    public boolean probing() {
        return pausedUntilMillis != 0;
    }

    /** The pause and its reason, while a refusal has not been followed by a success. */
    public synchronized Optional<State> state() {
        if (pausedUntilMillis == 0) {
            return Optional.empty();
        }
        return Optional.of(new State(reason, Instant.ofEpochMilli(pausedUntilMillis), window, refusals, since, paused()));
    }

    private Duration longer(Duration window) {
        Duration doubled = window.multipliedBy(2);
        Duration max = config.worker().claimPauseMax();
        return doubled.compareTo(max) > 0 ? max : doubled;
    }
}
