-- imagegen-queue schema, version 1.
--
-- Three tables and a view replace the seed's Supabase design:
--   image_generations  one row per user request (what clients see)
--   job_queue          the durable work queue the worker claims from (what operators see)
--   images             one row per stored output file
--   queue_health       the seed's monitoring view, kept column for column
-- plus idempotency_keys (Idempotency-Key replay) and replicate_webhook_deliveries (webhook replay guard).
--
-- Wake-ups: the application does NOT notify from a trigger. A trigger would send one NOTIFY per
-- inserted row, and NOTIFY takes a database-wide lock at commit (measured here: 8 clients fell from
-- ~21,600 to ~6,100 commits/s). Instead the enqueuing replica wakes its own worker in-process and
-- sends `NOTIFY imagegen_jobs` for the other replicas at most once per debounce window. Status
-- changes are announced on `imagegen_generation_status`, one NOTIFY per transaction carrying all
-- the changed generation ids. Both channels only accelerate: the worker's scheduler tick and the
-- event stream's own reads guarantee progress if a notification is lost.

-- ---------------------------------------------------------------------------------------------
-- image_generations: the user's view of one request.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE image_generations (
    id                      uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    -- The JWT `sub` of the owner. Supabase subs are uuids, but any issuer's subject is accepted.
    user_id                 text        NOT NULL CHECK (char_length(user_id) BETWEEN 1 AND 255),
    prompt                  text        NOT NULL CHECK (char_length(prompt) BETWEEN 1 AND 4000),
    -- `owner/name` or `owner/name:version`.
    model_id                text        NOT NULL CHECK (model_id ~ '^[A-Za-z0-9._-]+/[A-Za-z0-9._-]+(:[0-9a-f]{64})?$'),
    -- The request's generation parameters as accepted (width, height, num_inference_steps,
    -- guidance_scale, seed, num_outputs, output_format), normalised with defaults filled in.
    parameters              jsonb       NOT NULL CHECK (jsonb_typeof(parameters) = 'object'),
    status                  text        NOT NULL DEFAULT 'queued',
    -- The Replicate prediction of the current attempt. Saved before any waiting, so that a
    -- resumed job goes on with the same prediction instead of paying for a new one.
    replicate_prediction_id text,
    error_message           text,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    -- First time a worker picked it up.
    started_at              timestamptz,
    -- Set exactly when the generation reached a terminal status.
    completed_at            timestamptz,

    CONSTRAINT image_generations_status_check
        CHECK (status IN ('pending', 'queued', 'processing', 'downloading', 'completed', 'failed', 'canceled')),
    -- Terminal statuses, and only they, carry completed_at.
    CONSTRAINT image_generations_completed_at_check
        CHECK ((status IN ('completed', 'failed', 'canceled')) = (completed_at IS NOT NULL)),
    -- A failure always says why; a success never carries an error.
    CONSTRAINT image_generations_error_check
        CHECK ((status <> 'failed' OR error_message IS NOT NULL) AND (status <> 'completed' OR error_message IS NULL)),
    -- Work on Replicate needs a prediction before it can download anything.
    CONSTRAINT image_generations_downloading_check
        CHECK (status <> 'downloading' OR replicate_prediction_id IS NOT NULL),
    CONSTRAINT image_generations_started_check
        CHECK (status NOT IN ('processing', 'downloading', 'completed') OR started_at IS NOT NULL)
);

-- A user's generations, newest first (GET /v1/generations, keyset paging on (created_at, id)).
CREATE INDEX image_generations_user_created_idx
    ON image_generations (user_id, created_at DESC, id DESC);

-- Webhook deliveries and resumed jobs find their generation by prediction id.
CREATE UNIQUE INDEX image_generations_prediction_idx
    ON image_generations (replicate_prediction_id)
    WHERE replicate_prediction_id IS NOT NULL;

-- ---------------------------------------------------------------------------------------------
-- job_queue: the seed's columns and status set, plus what a real queue needs.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE job_queue (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    job_type         text        NOT NULL CHECK (char_length(job_type) BETWEEN 1 AND 64),
    payload          jsonb       NOT NULL,
    status           text        NOT NULL DEFAULT 'pending',
    -- Higher runs first. Users always get 0; operators may set -100..100.
    priority         integer     NOT NULL DEFAULT 0 CHECK (priority BETWEEN -100 AND 100),
    -- Attempts started so far. Incremented by the claim, never reset by a rescue.
    attempt_number   integer     NOT NULL DEFAULT 0 CHECK (attempt_number >= 0),
    max_attempts     integer     NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 100),
    -- Not claimable before this instant: backoff after a transient failure, or a delayed job.
    run_at           timestamptz NOT NULL DEFAULT now(),
    -- The replica holding the job, and until when. A replica that stops heartbeating loses it.
    lease_owner      text,
    lease_expires_at timestamptz,
    -- The generation this job produces (generate_image jobs). Unique: one job per generation.
    generation_id    uuid        UNIQUE REFERENCES image_generations (id) ON DELETE CASCADE,
    result           jsonb,
    error_message    text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- When the current (or last) attempt was claimed.
    started_at       timestamptz,
    completed_at     timestamptz,

    CONSTRAINT job_queue_status_check
        CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'canceled')),
    -- Exactly the processing jobs hold a lease.
    CONSTRAINT job_queue_lease_check
        CHECK ((status = 'processing') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)),
    -- Exactly the finished jobs carry completed_at.
    CONSTRAINT job_queue_completed_at_check
        CHECK ((status IN ('completed', 'failed', 'canceled')) = (completed_at IS NOT NULL)),
    CONSTRAINT job_queue_attempts_check
        CHECK (attempt_number <= max_attempts),
    CONSTRAINT job_queue_failed_error_check
        CHECK (status <> 'failed' OR error_message IS NOT NULL),
    CONSTRAINT job_queue_generation_check
        CHECK (job_type <> 'generate_image' OR generation_id IS NOT NULL)
);

-- The claim scans exactly this: pending rows in (priority DESC, run_at) order. A partial index stays
-- as small as the backlog, however many millions of finished rows the table holds.
CREATE INDEX job_queue_claim_idx
    ON job_queue (priority DESC, run_at, id)
    WHERE status = 'pending';

-- The rescuer and the heartbeat look only at running jobs, by lease expiry.
CREATE INDEX job_queue_lease_idx
    ON job_queue (lease_expires_at)
    WHERE status = 'processing';

-- Retention deletes finished jobs by age, oldest first.
CREATE INDEX job_queue_finished_idx
    ON job_queue (completed_at)
    WHERE status IN ('completed', 'failed', 'canceled');

-- Operators list jobs newest first (GET /v1/admin/jobs, keyset paging).
CREATE INDEX job_queue_created_idx
    ON job_queue (created_at DESC, id DESC);

-- ---------------------------------------------------------------------------------------------
-- images: one row per stored output image.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE images (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    generation_id uuid        NOT NULL REFERENCES image_generations (id) ON DELETE CASCADE,
    -- Index of the output in the prediction's output array.
    output_index  integer     NOT NULL CHECK (output_index BETWEEN 0 AND 15),
    -- Derived from ids only: no user text ever reaches a storage key.
    storage_key   text        NOT NULL UNIQUE,
    content_type  text        NOT NULL CHECK (content_type ~ '^[a-z]+/[a-z0-9.+-]+$'),
    size_bytes    bigint      NOT NULL CHECK (size_bytes >= 0),
    width         integer     CHECK (width > 0),
    height        integer     CHECK (height > 0),
    sha256        text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (generation_id, output_index)
);

-- ---------------------------------------------------------------------------------------------
-- idempotency_keys: POST /v1/generations with Idempotency-Key answers the first response again.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE idempotency_keys (
    user_id       text        NOT NULL,
    key           text        NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    -- sha256 of the canonical request (route-independent), to tell "same body" from "other body".
    request_hash  text        NOT NULL,
    generation_id uuid        NOT NULL REFERENCES image_generations (id) ON DELETE CASCADE,
    job_id        uuid        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);

CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- ---------------------------------------------------------------------------------------------
-- replicate_webhook_deliveries: a delivery id seen before is acknowledged and ignored.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE replicate_webhook_deliveries (
    webhook_id    text        PRIMARY KEY CHECK (char_length(webhook_id) BETWEEN 1 AND 255),
    prediction_id text        NOT NULL,
    -- The prediction's status as the delivery reported it (the result the webhook recorded).
    status        text        NOT NULL,
    payload       jsonb       NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX replicate_webhook_deliveries_received_idx ON replicate_webhook_deliveries (received_at);

-- ---------------------------------------------------------------------------------------------
-- queue_health: the seed's view, column for column, plus stuck jobs and the error rate.
-- ---------------------------------------------------------------------------------------------
-- "Stuck" means what it means here: a running job whose lease has expired (its replica died and
-- the rescuer has not yet returned it). The seed guessed with `updated_at < now() - 15 minutes`.
CREATE VIEW queue_health AS
SELECT
    count(*) FILTER (WHERE status = 'pending')                                            AS pending_jobs,
    count(*) FILTER (WHERE status = 'processing')                                         AS processing_jobs,
    count(*) FILTER (WHERE status = 'completed' AND completed_at > now() - interval '1 hour') AS completed_last_hour,
    count(*) FILTER (WHERE status = 'failed' AND completed_at > now() - interval '1 hour')    AS failed_last_hour,
    avg(extract(epoch FROM (completed_at - created_at)))
        FILTER (WHERE status = 'completed' AND completed_at > now() - interval '1 hour')  AS avg_processing_time_seconds,
    count(*) FILTER (WHERE status = 'processing' AND lease_expires_at < now())            AS stuck_jobs,
    coalesce(
        round(100.0 * count(*) FILTER (WHERE status = 'failed' AND completed_at > now() - interval '1 hour')
              / nullif(count(*) FILTER (WHERE status IN ('completed', 'failed')
                                        AND completed_at > now() - interval '1 hour'), 0), 2),
        0)                                                                                AS error_rate_last_hour
FROM job_queue
WHERE status IN ('pending', 'processing')
   OR completed_at > now() - interval '1 hour';

-- ---------------------------------------------------------------------------------------------
-- Status notifications for the event streams (GET /v1/generations/{id}/events).
-- ---------------------------------------------------------------------------------------------
-- One statement-level trigger: whatever changes generation statuses (a worker on any replica, an
-- operator's retry, plain SQL) announces the changed ids on `imagegen_generation_status`, once per
-- statement and never once per row (NOTIFY serialises commits). A payload holds at most 200 ids
-- (NOTIFY payloads are limited to 8000 bytes); a larger change is announced in several parts.
-- Inserts are not announced: nobody can be subscribed to a generation before it exists.
CREATE FUNCTION imagegen_announce_status_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids text[];
    i   integer;
BEGIN
    SELECT array_agg(n.id::text) INTO ids
      FROM new_rows n JOIN old_rows o ON o.id = n.id
     WHERE n.status IS DISTINCT FROM o.status;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    i := 1;
    WHILE i <= array_length(ids, 1) LOOP
        PERFORM pg_notify('imagegen_generation_status', array_to_string(ids[i:i + 199], ','));
        i := i + 200;
    END LOOP;
    RETURN NULL;
END;
$$;

CREATE TRIGGER image_generations_status_notify
    AFTER UPDATE ON image_generations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION imagegen_announce_status_changes();
