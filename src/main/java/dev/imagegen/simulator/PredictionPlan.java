package dev.imagegen.simulator;

import java.time.Duration;
import java.util.Objects;

/**
 * How one prediction runs: how long it stays {@code starting}, how long {@code processing}, and how
 * it ends.
 *
 * @param queueTime time in {@code starting}
 * @param runTime   time in {@code processing}
 * @param outcome   how it ends
 * @param error     the {@code error} text when the outcome is {@link Outcome#FAIL}
 */
public record PredictionPlan(Duration queueTime, Duration runTime, Outcome outcome, String error) {

    /** How a prediction ends. */
    public enum Outcome {
        /** {@code succeeded} with output files. */
        SUCCEED,
        /** {@code failed} with {@link PredictionPlan#error()}. */
        FAIL,
        /** {@code canceled} while processing, as if by a user or a {@code Cancel-After} deadline. */
        CANCEL,
        /** {@code aborted} before it started. */
        ABORT,
        /** Stays {@code starting} forever (until canceled). */
        STALL_STARTING,
        /** Stays {@code processing} forever (until canceled). */
        STALL_PROCESSING
    }

    public PredictionPlan {
        Objects.requireNonNull(queueTime);
        Objects.requireNonNull(runTime);
        Objects.requireNonNull(outcome);
    }

    /** Succeeds after {@code delay}: the first fifth of it {@code starting}, the rest {@code processing}. */
    public static PredictionPlan succeedAfter(Duration delay) {
        Duration queue = delay.dividedBy(5);
        return new PredictionPlan(queue, delay.minus(queue), Outcome.SUCCEED, null);
    }

    public PredictionPlan withOutcome(Outcome outcome, String error) {
        return new PredictionPlan(queueTime, runTime, outcome, error);
    }

    public PredictionPlan withDelay(Duration delay) {
        PredictionPlan timing = succeedAfter(delay);
        return new PredictionPlan(timing.queueTime, timing.runTime, outcome, error);
    }
}
