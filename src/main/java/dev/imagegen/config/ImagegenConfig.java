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

    Limits limits();

    Models models();

    Cors cors();

    /** Browser access from other origins. */
    interface Cors {
        /**
         * Origins (comma list; {@code /regex/} allowed) whose web apps may call the API and read {@code Location}
         * and {@code Retry-After} ({@code IMAGEGEN_CORS_ORIGINS}). Unset: same origin only (dev mode: any).
         */
        Optional<List<String>> origins();
    }

    /** Metrics settings. */
    @WithName("metrics")
    MetricsSettings metricsSettings();

    interface MetricsSettings {
        /** How often the queue depth gauges' one cached count query runs (a scrape never queries). */
        @WithName("queue-refresh-interval")
        @WithDefault("5s")
        Duration queueRefreshInterval();
    }

    /** Per-user limits; operators ({@code role: service_role}) are exempt from the per-user ones. */
    interface Limits {
        /**
         * Generations a user may have unfinished ({@code queued}, {@code processing}, {@code downloading}) at
         * once; one more enqueue answers 429. Checked by the database in the enqueue statement, so it holds
         * across replicas. 0 disables the cap.
         */
        @WithName("max-active-per-user")
        @WithDefault("50")
        int maxActivePerUser();

        /**
         * Enqueues per user per minute: a token bucket refilled at this rate, with a burst of the same size.
         * Counted per replica (in memory); 0 disables the limit.
         */
        @WithName("enqueue-per-minute")
        @WithDefault("120")
        int enqueuePerMinute();

        /** Event streams a user may have open at once; one more answers 429. */
        @WithName("max-streams-per-user")
        @WithDefault("10")
        int maxStreamsPerUser();

        /**
         * Event streams one replica serves at once (all users together); one more answers 503 with
         * {@code Retry-After}, so that the client or load balancer tries another replica.
         */
        @WithName("max-streams-per-replica")
        @WithDefault("2000")
        int maxStreamsPerReplica();
    }

    interface Models {
        /**
         * Models users may run, as {@code owner/name} ({@code owner/name:version} is allowed when its
         * {@code owner/name} is); {@code *} allows any. Anything else is a 400 naming the allowed ones.
         */
        @WithDefault("black-forest-labs/flux-schnell,black-forest-labs/flux-dev,stability-ai/sdxl")
        List<String> allowed();
    }

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

        /**
         * Replicate's create limit for the account, per minute (600 by default). Creates are paced at 97 % of it,
         * with bursts of half a second's worth, so that a full worker does not run into 429s. 0: no pacing.
         */
        @WithName("creates-per-minute")
        @WithDefault("600")
        int createsPerMinute();

        /** First poll delay; later polls back off up to {@link #pollMaxInterval()}. */
        @WithName("poll-initial-interval")
        @WithDefault("500ms")
        Duration pollInitialInterval();

        /** Longest delay between two polls of one prediction. */
        @WithName("poll-max-interval")
        @WithDefault("5s")
        Duration pollMaxInterval();

        /**
         * In webhook mode, the first safety-net poll of a prediction whose webhook has not come; later ones back
         * off with the prediction's age (half its age) up to {@link #webhookSafetyPollMaxInterval()}.
         */
        @WithName("webhook-safety-poll-interval")
        @WithDefault("60s")
        Duration webhookSafetyPollInterval();

        /** Longest gap between two safety-net polls of one prediction in webhook mode. */
        @WithName("webhook-safety-poll-max-interval")
        @WithDefault("5m")
        Duration webhookSafetyPollMaxInterval();

        /**
         * Safety-net polls this replica sends per minute at most; polls due beyond it are spread over the next
         * free seconds. Replicate allows 3,000 requests a minute on its endpoints other than create, for the
         * whole account: keep the sum over replicas below it. 0: no limit.
         */
        @WithName("webhook-safety-polls-per-minute")
        @WithDefault("1000")
        int webhookSafetyPollsPerMinute();

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

        /**
         * Most jobs one claim takes; a replica with more free slots claims again at once. One claim of 5,000
         * jobs took over 30 s on a loaded machine (the claim timed out while its rows stayed claimed), and every
         * claimed job starts its database reads and its create at once.
         */
        @WithName("claim-batch-size")
        @WithDefault("200")
        int claimBatchSize();

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

        /** How long this replica stops claiming after Replicate first refuses the account (HTTP 401/402). */
        @WithName("claim-pause-initial")
        @WithDefault("30s")
        Duration claimPauseInitial();

        /** Longest claim pause: each refusal after a pause doubles the window up to this. */
        @WithName("claim-pause-max")
        @WithDefault("10m")
        Duration claimPauseMax();
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

        /** How often finished jobs are pruned ({@code off} disables pruning on this replica). */
        @WithName("prune-interval")
        @WithDefault("10m")
        String pruneInterval();

        /**
         * Whether retention moves finished jobs into {@code job_queue_archive} instead of deleting them
         * ({@code IMAGEGEN_JOBS_ARCHIVE}).
         */
        @WithDefault("false")
        boolean archive();
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

        /**
         * The longest one output download may take in all, however steadily bytes arrive
         * ({@code IMAGEGEN_DOWNLOAD_DEADLINE}): a host that drips data never trips the read timeout, and
         * must not hold a worker slot forever. Past it the download fails as a transient error.
         */
        @WithDefault("5m")
        Duration deadline();
    }

    interface Storage {
        /** {@code filesystem} or {@code s3}. */
        @WithDefault("filesystem")
        String backend();

        /** Root folder of the filesystem store. */
        @WithDefault("./data/images")
        String dir();

        /** The S3 (or S3-compatible) store; read only when {@link #backend()} is {@code s3}. */
        S3 s3();

        /**
         * S3 settings ({@code IMAGEGEN_STORAGE_S3_*}). Credentials come from the AWS SDK's default chain:
         * {@code AWS_ACCESS_KEY_ID}/{@code AWS_SECRET_ACCESS_KEY}, {@code AWS_PROFILE} and the shared
         * config files, web identity ({@code AWS_WEB_IDENTITY_TOKEN_FILE}, EKS IRSA), the EKS Pod Identity
         * or ECS container endpoint, then the EC2 instance profile.
         */
        interface S3 {
            /** Bucket holding the images; required when the backend is {@code s3}. */
            Optional<String> bucket();

            /** AWS region of the bucket (S3-compatible services usually accept any). */
            @WithDefault("us-east-1")
            String region();

            /** Endpoint of an S3-compatible service (MinIO, Ceph, R2, ...); unset: AWS' endpoint for the region. */
            Optional<java.net.URI> endpoint();

            /** Address the bucket in the path ({@code endpoint/bucket/key}) instead of the host name. */
            @WithName("path-style")
            @WithDefault("false")
            boolean pathStyle();

            /** Link images by presigned S3 URLs instead of signed links to this service's content endpoint. */
            @WithDefault("true")
            boolean presign();

            /**
             * Multipart upload part size (5M to 512M); at most two parts per upload are held in memory.
             * Bodies smaller than one part are sent with a single PutObject.
             */
            @WithName("part-size")
            @WithDefault("8M")
            io.quarkus.runtime.configuration.MemorySize partSize();
        }
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
