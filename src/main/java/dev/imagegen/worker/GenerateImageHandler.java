package dev.imagegen.worker;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import dev.imagegen.config.ImagegenConfig;
import dev.imagegen.database.ConnectionLoss;
import dev.imagegen.generation.Generation;
import dev.imagegen.generation.GenerationRepository;
import dev.imagegen.metrics.Metrics;
import dev.imagegen.queue.Job;
import dev.imagegen.replicate.CreateMarker;
import dev.imagegen.replicate.JobException;
import dev.imagegen.replicate.JobException.Kind;
import dev.imagegen.replicate.ModelCatalog;
import dev.imagegen.replicate.Prediction;
import dev.imagegen.replicate.ReplicateClient;
import dev.imagegen.webhook.PredictionSignals;
import dev.imagegen.worker.download.DownloadDeadline;

/**
 * Runs one attempt of a generate-image job: get a prediction (resume the saved one, find one whose
 * create answer was lost by its {@link CreateMarker}, or create one and save its id before any waiting),
 * wait for it (webhook or polling, bounded by the prediction timeout), stream its first
 * {@code num_outputs} outputs into storage (each recorded as soon as it is stored, so a retry fetches
 * only the missing ones), and complete the job. Failures surface as {@link JobException}s for {@link JobExecutor}.
 */
@ApplicationScoped
public class GenerateImageHandler {

    private static final Logger LOG = Logger.getLogger(GenerateImageHandler.class);

    public static final String JOB_TYPE = "generate_image";

    /** Consecutive failed polls tolerated before the attempt is given up (the prediction is kept). */
    static final int MAX_POLL_FAILURES = 5;

    @Inject
    GenerationRepository generations;

    @Inject
    GenerationJobRepository steps;

    @Inject
    ReplicateClient replicate;

    @Inject
    OutputDownloader downloader;

    @Inject
    PredictionSignals signals;

    @Inject
    SafetyPolls safetyPolls;

    @Inject
    ImagegenConfig config;

    @Inject
    Metrics metrics;

    public Uni<Void> run(Job job, String owner) {
        return generations.findById(job.generationId()).flatMap(g -> {
            if (g == null) {
                throw JobException.permanent("The generation of this job no longer exists.");
            }
            if (g.status().terminal()) {
                throw new LeaseLostException("generation already " + g.status().db());
            }
            return storedOutputs(g).flatMap(stored -> {
                int wanted = wantedOutputs(g);
                if (stored.stream().filter(i -> i < wanted).count() >= wanted) {
                    // An earlier attempt stored every output but could not complete: nothing to fetch or pay for.
                    return complete(job, owner, g, g.predictionId(), wanted);
                }
                Map<String, Object> input = ModelCatalog.input(g.modelId(), g.prompt(), g.parameters());
                ModelCatalog.Route route = ModelCatalog.route(g.modelId());
                return obtainPrediction(job, owner, g, route, input)
                        .flatMap(p -> awaitOutcome(p))
                        .flatMap(p -> store(job, owner, g, p, stored));
            }).flatMap(done -> done ? Uni.createFrom().voidItem()
                    : Uni.createFrom().failure(new LeaseLostException("lease lost before completion")));
        });
    }

    /**
     * Outputs an earlier attempt stored. Outputs are stored only after their prediction id is recorded, so a
     * generation without one has none: most jobs (first attempts) skip this round trip before their create.
     * The one exception, outputs kept from a prediction that was later forgotten (its outputs expired), costs a
     * download, not correctness: they are fetched again from the new prediction and replace the old files and
     * rows ({@code recordImage} upserts by output index).
     */
    private Uni<Set<Integer>> storedOutputs(Generation g) {
        return g.predictionId() == null ? Uni.createFrom().item(Set.of()) : steps.storedOutputs(g.id());
    }

    // --- prediction ---------------------------------------------------------------------------------

    private Uni<Prediction> obtainPrediction(Job job, String owner, Generation g, ModelCatalog.Route route,
            Map<String, Object> input) {
        if (g.predictionId() != null) {
            return replicate.get(g.predictionId()).flatMap(found -> {
                if (found.isEmpty()) {
                    LOG.infof("job=%s generation=%s prediction %s is unknown to Replicate; creating a new one",
                            job.id(), g.id(), g.predictionId());
                    return create(job, owner, g, route, input);
                }
                Prediction p = found.get();
                if ("failed".equals(p.status())) {
                    return Uni.createFrom().failure(failed(p));
                }
                if (p.dead() || p.outputsExpired()) {
                    LOG.infof("job=%s generation=%s prediction %s cannot deliver (%s); creating a new one",
                            job.id(), g.id(), p.id(), p.outputsExpired() ? "outputs expired" : p.status());
                    return create(job, owner, g, route, input);
                }
                LOG.debugf("job=%s generation=%s resumes prediction %s", job.id(), g.id(), p.id());
                return Uni.createFrom().item(p);
            });
        }
        if (job.attemptNumber() > 1 && g.startedAt() != null && markersSent()) {
            // A previous attempt of this job may have sent a create whose answer never came back: find it
            // (by this job's marker only) before paying again.
            return findLost(g.startedAt().toInstant(), job, g, m -> m.jobId().equals(job.id())).flatMap(found -> found.isPresent()
                    ? save(job, owner, found.get())
                    : create(job, owner, g, route, input));
        }
        return create(job, owner, g, route, input);
    }

    private Uni<Prediction> create(Job job, String owner, Generation g, ModelCatalog.Route route, Map<String, Object> input) {
        Instant sent = Instant.now();
        CreateMarker marker = new CreateMarker(job.id(), job.attemptNumber());
        return replicate.create(route, input, webhookUrl(marker))
                .onFailure(e -> e instanceof JobException je && je.kind() == Kind.TRANSIENT && markersSent())
                .recoverWithUni(e -> findLost(sent, job, g, marker::equals)
                        .onFailure().recoverWithItem(Optional.empty())
                        .flatMap(found -> found.isPresent() ? Uni.createFrom().item(found.get())
                                : Uni.createFrom().failure(e)))
                .flatMap(p -> save(job, owner, p));
    }

    /**
     * The newest prediction created since {@code since} (less a minute of clock skew) whose marker is
     * {@code wanted} and that no other generation has recorded (the unique prediction index would refuse
     * it anyway; it is never adopted).
     */
    private Uni<Optional<Prediction>> findLost(Instant since, Job job, Generation g, Predicate<CreateMarker> wanted) {
        return replicate.findCreatedSince(since.minusSeconds(60), wanted)
                .flatMap(candidates -> firstFree(candidates, 0, g))
                .invoke(found -> found.ifPresent(p -> LOG.infof("job=%s generation=%s found prediction %s whose create answer was lost",
                        job.id(), g.id(), p.id())));
    }

    private Uni<Optional<Prediction>> firstFree(List<Prediction> candidates, int index, Generation g) {
        if (index >= candidates.size()) {
            return Uni.createFrom().item(Optional.empty());
        }
        Prediction candidate = candidates.get(index);
        return steps.recordedElsewhere(candidate.id(), g.id()).flatMap(taken -> taken
                ? firstFree(candidates, index + 1, g)
                : Uni.createFrom().item(Optional.of(candidate)));
    }

    /**
     * Records the new prediction's id before any waiting. A lost database connection is retried (up to the
     * lease): an id not recorded is a prediction the next attempt would pay for again (polling mode has no
     * create marker to find it by). Found by DatabaseRestartIT (fault case 4): 58 creates for 53 jobs. If the
     * database stays away longer, the prediction is canceled rather than left running for nobody.
     */
    private Uni<Prediction> save(Job job, String owner, Prediction p) {
        return steps.recordPrediction(job.id(), owner, p.id())
                .onFailure(ConnectionLoss::in).retry().withBackOff(Duration.ofMillis(100), Duration.ofSeconds(2))
                .expireIn(config.worker().lease().toMillis())
                .onFailure().call(e -> replicate.cancel(p.id()).onFailure().recoverWithNull())
                .flatMap(saved -> {
                    if (saved) {
                        return Uni.createFrom().item(p);
                    }
                    // The job was canceled or rescued meanwhile: nobody will wait for this prediction.
                    return replicate.cancel(p.id()).onFailure().recoverWithNull()
                            .flatMap(x -> Uni.createFrom().failure(new LeaseLostException("lease lost after create")));
                });
    }

    /**
     * Whether creates carry a {@link CreateMarker}, i.e. whether a lost create answer can be recovered.
     * Only in webhook mode: the marker rides in the webhook URL, the one field of the request that the list
     * endpoint echoes. In polling mode (no secret) no webhook URL is sent at all: this service would answer
     * Replicate's calls with 404 (each terminal one retried for about a minute), and the default public base
     * URL ({@code http://localhost:8080}) is not an https URL Replicate can reach, which may even be refused
     * at create. So in polling mode a lost create answer is not recovered: the next attempt creates a new
     * prediction (at most one extra per lost answer), rather than adopting one by its prompt, which could
     * be another generation's (even another user's).
     */
    private boolean markersSent() {
        return config.replicate().webhookSecret().isPresent();
    }

    private Optional<String> webhookUrl(CreateMarker marker) {
        if (!markersSent()) {
            return Optional.empty();
        }
        String base = config.publicBaseUrl();
        return Optional.of(marker.addTo((base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + "/v1/webhooks/replicate"));
    }

    /** Waits until the prediction is terminal, then checks that it can deliver. */
    private Uni<Prediction> awaitOutcome(Prediction first) {
        Instant started = first.createdAt() != null && first.createdAt().isBefore(Instant.now()) ? first.createdAt() : Instant.now();
        Instant deadline = started.plus(config.replicate().predictionTimeout());
        return poll(first, deadline, config.replicate().pollInitialInterval(), 0).map(p -> {
            if (p.succeeded() && !p.outputsExpired()) {
                return p;
            }
            if (p.outputsExpired()) {
                throw new JobException(Kind.OUTPUT_GONE, "The prediction's outputs expired before they could be copied.");
            }
            if ("failed".equals(p.status())) {
                throw failed(p);
            }
            throw new JobException(Kind.OUTPUT_GONE, "The prediction was " + p.status() + " at Replicate.");
        });
    }

    private Uni<Prediction> poll(Prediction current, Instant deadline, Duration interval, int failures) {
        if (current.terminal() && (!current.succeeded() || !current.output().isEmpty() || current.dataRemoved())) {
            return Uni.createFrom().item(current);
        }
        if (Instant.now().isAfter(deadline)) {
            return replicate.cancel(current.id()).onFailure().recoverWithNull().flatMap(x -> Uni.createFrom().failure(
                    new JobException(Kind.OUTPUT_GONE, "The prediction did not finish within "
                            + DownloadDeadline.human(config.replicate().predictionTimeout()) + " and was canceled.")));
        }
        Duration untilDeadline = Duration.between(Instant.now(), deadline);
        Uni<Boolean> pause;
        Duration next;
        if (config.replicate().webhookSecret().isPresent()) {
            pause = signals.await(current.id(), min(safetyPolls.nextWait(current.createdAt()), untilDeadline.plusMillis(50)));
            next = interval;
        } else {
            pause = Uni.createFrom().item(Boolean.FALSE).onItem().delayIt().by(min(interval, untilDeadline.plusMillis(50)));
            next = min(Duration.ofMillis((long) (interval.toMillis() * 1.5)), config.replicate().pollMaxInterval());
        }
        return pause.flatMap(x -> replicate.get(current.id()))
                .flatMap(found -> {
                    if (found.isEmpty()) {
                        return Uni.createFrom().<Prediction>failure(new JobException(Kind.OUTPUT_GONE,
                                "Replicate no longer knows the prediction."));
                    }
                    return poll(found.get(), deadline, next, 0);
                })
                .onFailure(e -> e instanceof JobException je && je.kind() == Kind.TRANSIENT && failures + 1 < MAX_POLL_FAILURES)
                .recoverWithUni(e -> {
                    LOG.debugf("poll of prediction %s failed (%s); retrying", current.id(), e.getMessage());
                    return poll(current, deadline, next, failures + 1);
                });
    }

    private static JobException failed(Prediction p) {
        String error = p.error() == null || p.error().isBlank() ? "no reason given" : p.error().strip();
        if (error.length() > 1000) {
            error = error.substring(0, 1000) + "…";
        }
        return JobException.permanent("The model failed: " + error);
    }

    // --- outputs ------------------------------------------------------------------------------------

    /**
     * Stores the first {@code num_outputs} outputs (extra ones are ignored, never fetched) that are not
     * stored yet, one at a time; each image row is recorded as soon as its file is committed, so a retried
     * attempt fetches only what is missing. Then completes the job.
     */
    private Uni<Boolean> store(Job job, String owner, Generation g, Prediction p, Set<Integer> stored) {
        int wanted = wantedOutputs(g);
        List<String> outputs = p.output().size() > wanted ? p.output().subList(0, wanted) : p.output();
        if (p.output().size() > wanted) {
            LOG.debugf("job=%s generation=%s prediction %s returned %d outputs; only the first %d are kept",
                    job.id(), g.id(), p.id(), p.output().size(), wanted);
        }
        return steps.markDownloading(job.id(), owner).flatMap(marked -> {
            if (!marked) {
                return Uni.createFrom().failure(new LeaseLostException("lease lost before download"));
            }
            return Multi.createFrom().range(0, outputs.size())
                    .select().where(i -> !stored.contains(i))
                    .onItem().transformToUniAndConcatenate(i -> storeOutput(job, owner, g, i, outputs.get(i)))
                    .collect().asList()
                    .flatMap(x -> complete(job, owner, g, p.id(), outputs.size()));
        });
    }

    private Uni<Void> storeOutput(Job job, String owner, Generation g, int index, String url) {
        return downloader.download(url, key(g, index), config.download().deadline())
                .invoke(image -> metrics.downloaded(image.sizeBytes()))
                .flatMap(image -> steps.recordImage(job.id(), owner, index, image))
                .flatMap(recorded -> recorded ? Uni.createFrom().voidItem()
                        : Uni.createFrom().failure(new LeaseLostException("lease lost while storing outputs")));
    }

    private Uni<Boolean> complete(Job job, String owner, Generation g, String predictionId, int outputs) {
        JsonArray keys = new JsonArray();
        for (int i = 0; i < outputs; i++) {
            keys.add(key(g, i));
        }
        return steps.complete(job.id(), owner, new JsonObject().put("prediction_id", predictionId).put("images", keys));
    }

    /** The outputs the user asked for: a prediction may return more, and those are never fetched. */
    private static int wantedOutputs(Generation g) {
        return Math.max(1, g.parameters().numOutputs());
    }

    /** Storage keys are made of ids only: no user text ever reaches a key. */
    static String key(Generation g, int index) {
        return "generations/" + g.id() + "/" + index;
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }
}
