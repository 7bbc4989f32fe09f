package dev.imagegen.config;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;

/**
 * Every setting of the service, in one place. Each key is read from the environment variable the
 * contract names ({@code imagegen.worker.max-parallel-jobs} is {@code IMAGEGEN_WORKER_MAX_PARALLEL_JOBS}).
 */
@ConfigMapping(prefix = "imagegen")
public interface ImagegenConfig {

    /** This service's external URL: webhook target and absolute image links. */
    @WithName("public-base-url")
    @WithDefault("http://localhost:8080")
    String publicBaseUrl();

    Auth auth();

    Replicate replicate();

    Worker worker();

    Jobs jobs();

    Retry retry();

    Download download();

    Storage storage();

    Api api();

    Alerts alerts();

    interface Alerts {
        /** Alert when more jobs than this are pending (the seed's "high queue depth"). */
        @WithName("pending-threshold")
        @WithDefault("50")
        long pendingThreshold();

        /** Alert when more jobs than this are stuck (lease expired, not yet rescued). */
        @WithName("stuck-threshold")
        @WithDefault("0")
        long stuckThreshold();

        /** Alert when more than this percentage of the last hour's finished jobs failed. */
        @WithName("error-rate-threshold")
        @WithDefault("10")
        double errorRateThreshold();
    }

    interface Auth {
        /** HS256 secret that signs bearer tokens (a Supabase project's JWT secret works as is). */
        @WithName("jwt-secret")
        Optional<String> jwtSecret();
    }

    interface Replicate {
        /** Replicate API token ({@code REPLICATE_API_TOKEN}). Without it, dev mode uses the built-in simulator. */
        @WithName("api-token")
        Optional<String> apiToken();

        /** Replicate API base URL, without the {@code /v1}. */
        @WithName("base-url")
        @WithDefault("https://api.replicate.com")
        String baseUrl();

        /** Hosts (and their subdomains) that output files may be downloaded from. */
        @WithName("allowed-output-hosts")
        @WithDefault("replicate.delivery")
        List<String> allowedOutputHosts();

        /** {@code whsec_…} signing secret; when set, predictions report back by webhook instead of polling. */
        @WithName("webhook-secret")
        Optional<String> webhookSecret();

        /** A prediction still running after this long is canceled at Replicate. */
        @WithName("prediction-timeout")
        @WithDefault("10m")
        Duration predictionTimeout();

        /** Timeout of one HTTP call to the Replicate API. */
        @WithName("request-timeout")
        @WithDefault("30s")
        Duration requestTimeout();

        /** Seconds a create may hold the connection open ({@code Prefer: wait=N}); 0 disables sync mode. */
        @WithName("prefer-wait-seconds")
        @WithDefault("5")
        int preferWaitSeconds();

        /** First poll delay; later polls back off up to {@link #pollMaxInterval()}. */
        @WithName("poll-initial-interval")
        @WithDefault("500ms")
        Duration pollInitialInterval();

        /** Longest delay between two polls of one prediction. */
        @WithName("poll-max-interval")
        @WithDefault("5s")
        Duration pollMaxInterval();

        /** In webhook mode, the safety-net poll interval for deliveries that never come. */
        @WithName("webhook-safety-poll-interval")
        @WithDefault("60s")
        Duration webhookSafetyPollInterval();

        /** Use the built-in Replicate simulator (dev mode without a token). Never honoured in prod. */
        @WithName("simulator.enabled")
        @WithDefault("false")
        boolean simulatorEnabled();

        /** How long the simulator takes to "generate" an image. */
        @WithName("simulator.delay")
        @WithDefault("1500ms")
        Duration simulatorDelay();
    }

    interface Worker {
        /** Jobs in flight per replica. */
        @WithName("max-parallel-jobs")
        @WithDefault("32")
        int maxParallelJobs();

        /** Fallback scheduler tick (jittered); LISTEN/NOTIFY wakes the worker sooner. */
        @WithName("poll-interval")
        @WithDefault("5s")
        Duration pollInterval();

        /** How long a claimed job is held without a heartbeat before another replica may rescue it. */
        @WithDefault("2m")
        Duration lease();

        /** How often the leases of running jobs are extended (well under the lease). */
        @WithName("heartbeat-interval")
        @WithDefault("30s")
        Duration heartbeatInterval();

        /** How often expired leases are looked for. */
        @WithName("rescue-interval")
        @WithDefault("30s")
        Duration rescueInterval();

        /** Whether this replica runs the worker at all (API-only replicas set it to false). */
        @WithDefault("true")
        boolean enabled();

        /** On shutdown, how long in-flight jobs may run before they are returned to the queue. */
        @WithName("shutdown-grace")
        @WithDefault("25s")
        Duration shutdownGrace();

        /** Shortest gap between two NOTIFYs this replica sends to wake other replicas. */
        @WithName("notify-debounce")
        @WithDefault("5ms")
        Duration notifyDebounce();
    }

    interface Jobs {
        /** Attempts per job before it fails for good. */
        @WithName("max-attempts")
        @WithDefault("3")
        int maxAttempts();

        /** Completed jobs are deleted after this long. */
        @WithName("retention-completed")
        @WithDefault("7d")
        Duration retentionCompleted();

        /** Failed and canceled jobs are deleted after this long. */
        @WithName("retention-failed")
        @WithDefault("30d")
        Duration retentionFailed();
    }

    interface Retry {
        /** First backoff delay; each attempt doubles it, with full jitter. */
        @WithName("base-delay")
        @WithDefault("10s")
        Duration baseDelay();

        /** Upper bound of one backoff delay. */
        @WithName("max-delay")
        @WithDefault("10m")
        Duration maxDelay();
    }

    interface Download {
        /** Largest output file accepted, in bytes. */
        @WithName("max-bytes")
        @WithDefault("104857600")
        long maxBytes();

        /** A download that receives nothing for this long is abandoned (transient). */
        @WithName("read-timeout")
        @WithDefault("30s")
        Duration readTimeout();
    }

    interface Storage {
        /** {@code filesystem} or {@code s3}. */
        @WithDefault("filesystem")
        String backend();

        /** Root folder of the filesystem store. */
        @WithDefault("./data/images")
        String dir();
    }

    interface Api {
        /** How long a signed image link stays valid. */
        @WithName("image-link-ttl")
        @WithDefault("2h")
        Duration imageLinkTtl();

        /** How long an Idempotency-Key is remembered. */
        @WithName("idempotency-ttl")
        @WithDefault("24h")
        Duration idempotencyTtl();

        /** Largest accepted request body, in bytes. */
        @WithName("max-body-bytes")
        @WithDefault("65536")
        int maxBodyBytes();
    }
}
