-- The seed's job queue, copied verbatim from /work/shared/seed/000_bbf6246feaf7e39b.txt (section 1.2, and
-- enqueue_job / claim_next_job / complete_job from 1.3): the baseline of benchmarks/drain (claim, complete)
-- and of benchmarks/enqueue (enqueue_job, unchanged). Section headings of the seed
-- document are left out. One line is added: "#variable_conflict use_column" in claim_next_job. As written
-- in the seed it fails on every call ("column reference "id" is ambiguous": its RETURNS TABLE columns id and
-- attempt_number are also PL/pgSQL variables); the directive makes those names mean the table's columns,
-- which is what the seed's text intends. Nothing else is changed.
CREATE TABLE IF NOT EXISTS job_queue (
id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
job_type TEXT NOT NULL,
payload JSONB NOT NULL,
status TEXT NOT NULL DEFAULT 'pending',
priority INTEGER NOT NULL DEFAULT 0,
attempt_number INTEGER NOT NULL DEFAULT 0,
max_attempts INTEGER NOT NULL DEFAULT 3,
result JSONB,
error_message TEXT,
created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
completed_at TIMESTAMPTZ,
CONSTRAINT job_queue_status_check CHECK (status IN ('pending', 'processing', 'completed', 'failed'))
);

-- Index for efficient job claiming
CREATE INDEX IF NOT EXISTS idx_job_queue_pending
ON job_queue(status, priority DESC, created_at ASC)
WHERE status = 'pending';

-- Index for monitoring
CREATE INDEX IF NOT EXISTS idx_job_queue_created_at
ON job_queue(created_at DESC);

-- Index for job type filtering
CREATE INDEX IF NOT EXISTS idx_job_queue_type
ON job_queue(job_type, status);

CREATE OR REPLACE FUNCTION enqueue_job(
p_job_type TEXT,
p_payload JSONB,
p_priority INTEGER DEFAULT 0,
p_max_attempts INTEGER DEFAULT 3
)
RETURNS UUID AS $$
DECLARE
v_job_id UUID;
BEGIN
INSERT INTO job_queue (job_type, payload, priority, max_attempts)
VALUES (p_job_type, p_payload, p_priority, p_max_attempts)
RETURNING id INTO v_job_id;
RETURN v_job_id;
END;
$$ LANGUAGE plpgsql SECURITY DEFINER;

CREATE OR REPLACE FUNCTION claim_next_job()
RETURNS TABLE(
id UUID,
job_type TEXT,
payload JSONB,
attempt_number INTEGER,
max_attempts INTEGER
) AS $$
#variable_conflict use_column
BEGIN
RETURN QUERY
UPDATE job_queue
SET
status = 'processing',
attempt_number = attempt_number + 1,
updated_at = now()
WHERE id = (
SELECT job_queue.id
FROM job_queue
WHERE job_queue.status = 'pending'
ORDER BY job_queue.priority DESC, job_queue.created_at ASC
FOR UPDATE SKIP LOCKED
LIMIT 1
)
RETURNING
job_queue.id,
job_queue.job_type,
job_queue.payload,
job_queue.attempt_number,
job_queue.max_attempts;
END;
$$ LANGUAGE plpgsql SECURITY DEFINER;

CREATE OR REPLACE FUNCTION complete_job(
p_job_id UUID,
p_result JSONB DEFAULT NULL,
p_error TEXT DEFAULT NULL
)
RETURNS VOID AS $$
DECLARE
v_job RECORD;
BEGIN
-- Get current job state
SELECT * INTO v_job FROM job_queue WHERE id = p_job_id;
IF NOT FOUND THEN
RAISE EXCEPTION 'Job not found: %', p_job_id;
END IF;
-- If error and retries remain, reset to pending
IF p_error IS NOT NULL AND v_job.attempt_number < v_job.max_attempts THEN
UPDATE job_queue
SET
status = 'pending',
error_message = p_error,
updated_at = now()
WHERE id = p_job_id;
-- If error and no retries left, mark as failed
ELSIF p_error IS NOT NULL THEN
UPDATE job_queue
SET
status = 'failed',
error_message = p_error,
completed_at = now(),
updated_at = now()
WHERE id = p_job_id;
-- Success - mark as completed
ELSE
UPDATE job_queue
SET
status = 'completed',
result = p_result,
error_message = NULL,
completed_at = now(),
updated_at = now()
WHERE id = p_job_id;
END IF;
END;
$$ LANGUAGE plpgsql SECURITY DEFINER;
