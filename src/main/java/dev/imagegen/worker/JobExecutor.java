package dev.imagegen.worker;

import java.time.Duration;
import java.time.OffsetDateTime;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.smallrye.mutiny.Uni;

import dev.imagegen.config.ImagegenConfig;
import dev.imagegen.database.ConnectionLoss;
import dev.imagegen.metrics.Metrics;
import dev.imagegen.queue.ClaimPause;
import dev.imagegen.queue.Job;
import dev.imagegen.queue.JobRepository;
import dev.imagegen.replicate.JobException;
import dev.imagegen.replicate.JobException.Kind;

/**
 * Runs one claimed job and records its outcome, every outcome named:
 * success → completed (by the handler, with its images); transient → back to the queue after
 * {@link RetryPolicy} backoff (the generation to queued); prediction unusable → the same, forgetting
 * the prediction; throttled → back to the queue without spending the attempt; account refused (401/402)
 * → the same, and this replica pauses claiming ({@link ClaimPause}); permanent or attempts exhausted →
 * failed with a message a user can read; lease lost → nothing (someone else owns the job). Every write
 * names the lease of the claim that started this run ({@link Job#leaseOwner()}), never just the replica,
 * so a run whose job was claimed again can change nothing. Recording the outcome is itself retried; the
 * rescuer is the last backstop.
 */
@ApplicationScoped
public class JobExecutor {

    private static final Logger LOG = Logger.getLogger(JobExecutor.class);

    /** How long a job whose run lost its database connection waits before it is claimed again. */
    static final Duration CONNECTION_LOSS_DELAY = Duration.ofSeconds(1);

    /** The outcome of one execution, for {@code process-jobs} and the metrics. */
    public enum Outcome {
        COMPLETED, RETRIED, RELEASED, FAILED, LOST;

        public boolean error() {
            return this == RETRIED || this == FAILED;
        }
    }

    @Inject
    GenerateImageHandler handler;

    @Inject
    JobRepository jobs;

    @Inject
    GenerationJobRepository steps;

    @Inject
    ImagegenConfig config;

    @Inject
    Metrics metrics;

    @Inject
    ClaimPause pause;

    /** Runs one claimed job under the lease of its claim. */
    public Uni<Outcome> execute(Job job) {
        String owner = job.leaseOwner();
        long start = System.nanoTime();
        if (job.runAt() != null) {
            metrics.queueWait(Duration.between(job.runAt(), OffsetDateTime.now()));
        }
        Uni<Void> work = GenerateImageHandler.JOB_TYPE.equals(job.jobType())
                ? Uni.createFrom().deferred(() -> handler.run(job, owner))
                : Uni.createFrom().failure(JobException.permanent("Unknown job type " + job.jobType() + "."));
        return work
                .map(x -> Outcome.COMPLETED)
                .onFailure().recoverWithUni(e -> record(job, owner, e))
                .invoke(o -> {
                    metrics.finished(o.name().toLowerCase(java.util.Locale.ROOT), System.nanoTime() - start);
                    if (o == Outcome.COMPLETED) {
                        pause.succeeded();
                        LOG.debugf("job=%s generation=%s completed (attempt %d)", job.id(), job.generationId(), job.attemptNumber());
                    }
                });
    }

    /**
     * The database connection was lost under the run (a restart, a failover, a terminated backend): not the
     * job's fault, so it goes back to the queue without spending its attempt, keeping a recorded prediction
     * for the next run to follow. Found by DatabaseRestartIT (fault case 4): an outage spent 5 attempts of
     * 53 jobs.
     */
    private Uni<Outcome> release(Job job, String owner, Throwable e) {
        LOG.warnf("job=%s generation=%s lost its database connection (%s); back to the queue in %s without spending the attempt",
                job.id(), job.generationId(), e.getMessage(), CONNECTION_LOSS_DELAY);
        return jobs.release(job.id(), owner, CONNECTION_LOSS_DELAY)
                .onFailure().retry().withBackOff(Duration.ofMillis(200), Duration.ofSeconds(5)).atMost(5)
                .map(t -> t.applied() ? Outcome.RELEASED : Outcome.LOST)
                .onFailure().recoverWithItem(err -> {
                    LOG.warnf("job=%s generation=%s could not be released (%s); the rescuer will return it when its lease expires",
                            job.id(), job.generationId(), err.getMessage());
                    return Outcome.LOST;
                });
    }

    private Uni<Outcome> record(Job job, String owner, Throwable e) {
        if (e instanceof LeaseLostException) {
            LOG.infof("job=%s generation=%s stopped: %s", job.id(), job.generationId(), e.getMessage());
            return Uni.createFrom().item(Outcome.LOST);
        }
        if (!(e instanceof JobException) && ConnectionLoss.in(e)) {
            return release(job, owner, e);
        }
        JobException je = e instanceof JobException j ? j
                : new JobException(Kind.TRANSIENT, "An unexpected error interrupted the job; it will be retried.", e);
        if (!(e instanceof JobException)) {
            LOG.errorf(e, "job=%s generation=%s failed unexpectedly", job.id(), job.generationId());
        }
        Uni<JobRepository.Transition> write;
        Outcome outcome;
        String logLine;
        switch (je.kind()) {
            case THROTTLED -> {
                Duration delay = je.retryAfter() == null ? Duration.ofSeconds(5) : je.retryAfter();
                outcome = Outcome.RELEASED;
                logLine = String.format("job=%s generation=%s throttled by Replicate; back to the queue in %s without spending the attempt",
                        job.id(), job.generationId(), delay);
                write = jobs.release(job.id(), owner, delay);
            }
            case ACCOUNT_REFUSED -> {
                Duration delay = pause.refused(je.getMessage());
                outcome = Outcome.RELEASED;
                logLine = String.format("job=%s generation=%s: %s; back to the queue in %s without spending the attempt",
                        job.id(), job.generationId(), je.getMessage(), delay);
                write = jobs.release(job.id(), owner, delay);
            }
            case PERMANENT -> {
                outcome = Outcome.FAILED;
                logLine = String.format("job=%s generation=%s failed: %s", job.id(), job.generationId(), je.getMessage());
                write = jobs.fail(job.id(), owner, sentence(je.getMessage()));
            }
            default -> {
                boolean forget = je.kind() == Kind.OUTPUT_GONE;
                if (job.attemptsRemain()) {
                    Duration delay = RetryPolicy.next(job.attemptNumber(), config.retry().baseDelay(), config.retry().maxDelay());
                    outcome = Outcome.RETRIED;
                    logLine = String.format("job=%s generation=%s attempt %d/%d failed (%s); retrying in %d ms", job.id(),
                            job.generationId(), job.attemptNumber(), job.maxAttempts(), je.getMessage(), delay.toMillis());
                    write = forget
                            ? steps.forgetPrediction(job.id(), owner)
                                    .flatMap(x -> jobs.retryLater(job.id(), owner, je.getMessage(), delay))
                            : jobs.retryLater(job.id(), owner, je.getMessage(), delay);
                } else {
                    outcome = Outcome.FAILED;
                    String message = sentence(je.getMessage()) + " (gave up after " + job.attemptNumber() + " attempt"
                            + (job.attemptNumber() == 1 ? "" : "s") + ")";
                    logLine = String.format("job=%s generation=%s failed: %s", job.id(), job.generationId(), message);
                    write = jobs.fail(job.id(), owner, message);
                }
            }
        }
        return write
                .onFailure().retry().withBackOff(Duration.ofMillis(200), Duration.ofSeconds(5)).atMost(5)
                .map(t -> {
                    if (!t.applied()) {
                        LOG.infof("job=%s generation=%s was canceled or taken over meanwhile; its outcome is dropped",
                                job.id(), job.generationId());
                        return Outcome.LOST;
                    }
                    LOG.info(logLine);
                    return outcome;
                })
                .onFailure().recoverWithItem(err -> {
                    LOG.errorf("job=%s generation=%s: could not record the outcome (%s); the rescuer will return it",
                            job.id(), job.generationId(), err.getMessage());
                    return Outcome.LOST;
                });
    }

    /**
     * A failure as the user reads it: starting with a capital. Some causes are worded as fragments for the
     * logs ("the output host answered HTTP 503"); found by the fault storm (RELIABILITY.md, case 6).
     */
    static String sentence(String message) {
        if (message == null || message.isBlank()) {
            return "The generation failed for an unknown reason.";
        }
        String m = message.strip();
        return Character.toUpperCase(m.charAt(0)) + m.substring(1);
    }
}
