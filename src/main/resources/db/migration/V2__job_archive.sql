-- imagegen-queue schema, version 2: the job archive.
--
-- With IMAGEGEN_JOBS_ARCHIVE=true, retention (JobPruner) moves finished jobs here instead of deleting
-- them, one small batch per statement (DELETE … RETURNING feeding an INSERT). The table repeats
-- job_queue's columns and adds archived_at. Nothing reads it on a hot path; it is for audits and
-- analysis, and operators prune it themselves (by archived_at) as their own retention requires.
--
-- It has no foreign key to image_generations: a generation may be deleted long after its job was
-- archived, and the archive keeps the record of the work all the same.

CREATE TABLE job_queue_archive (
    id               uuid        PRIMARY KEY,
    job_type         text        NOT NULL,
    payload          jsonb       NOT NULL,
    status           text        NOT NULL,
    priority         integer     NOT NULL,
    attempt_number   integer     NOT NULL,
    max_attempts     integer     NOT NULL,
    run_at           timestamptz NOT NULL,
    lease_owner      text,
    lease_expires_at timestamptz,
    generation_id    uuid,
    result           jsonb,
    error_message    text,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    started_at       timestamptz,
    completed_at     timestamptz,
    -- When retention moved the row here.
    archived_at      timestamptz NOT NULL DEFAULT now(),

    -- Only finished jobs are archived.
    CONSTRAINT job_queue_archive_status_check
        CHECK (status IN ('completed', 'failed', 'canceled'))
);

-- Pruning the archive itself, oldest first.
CREATE INDEX job_queue_archive_archived_idx ON job_queue_archive (archived_at);

-- "What happened to this generation's job?"
CREATE INDEX job_queue_archive_generation_idx ON job_queue_archive (generation_id) WHERE generation_id IS NOT NULL;
