-- imagegen-queue schema, version 4: a generation's status follows its job's, written once.
--
-- Until V3 every statement that moved a job (claim, complete, retry, release, fail, cancel, rescue, an
-- operator's retry) carried a second CTE that moved its generation the same way: seven copies of one
-- mapping, in two classes. From V4 the application's job statements touch job_queue only, and this
-- trigger mirrors every job status change into image_generations:
--
--   job status change                     generation
--   pending → processing (claim)          processing; started_at kept or set now
--   → completed                           completed; error cleared; completed_at now
--   → failed                              failed with the job's error_message; completed_at now
--   → canceled                            canceled; completed_at now
--   processing → pending (retry, release, queued (error and prediction kept: a resumed job goes on
--     rescue)                               with the same prediction)
--   failed|canceled → pending (operator)  queued; error, completed_at and prediction cleared
--
-- Guards as before: a generation that already finished (completed, failed, canceled) is never moved
-- again, except by an operator's retry, which reopens it. Statement-level with transition tables, like
-- the quota triggers of V3: one statement moving N jobs runs ONE update of image_generations, so the
-- status NOTIFY trigger (V1) still fires once per statement and the quota trigger (V3) still nets one
-- statement's changes per user. Inserts (enqueue writes both rows itself) and deletes (retention) are
-- not mirrored. Generation-only steps (prediction id, downloading) stay in the application.

CREATE FUNCTION imagegen_mirror_job_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE image_generations g
       SET status = CASE m.status WHEN 'pending' THEN 'queued' ELSE m.status END,
           error_message = CASE
               WHEN m.status = 'completed' THEN NULL
               WHEN m.status = 'failed' THEN m.error_message
               WHEN m.reopened THEN NULL
               ELSE g.error_message END,
           completed_at = CASE
               WHEN m.status IN ('completed', 'failed', 'canceled') THEN now()
               WHEN m.status = 'pending' THEN NULL
               ELSE g.completed_at END,
           started_at = CASE WHEN m.status = 'processing' THEN coalesce(g.started_at, now()) ELSE g.started_at END,
           replicate_prediction_id = CASE WHEN m.reopened THEN NULL ELSE g.replicate_prediction_id END,
           updated_at = now()
      FROM (SELECT n.generation_id, n.status, n.error_message,
                   n.status = 'pending' AND o.status IN ('failed', 'canceled') AS reopened
              FROM new_rows n JOIN old_rows o ON o.id = n.id
             WHERE n.status IS DISTINCT FROM o.status AND n.generation_id IS NOT NULL) m
     WHERE g.id = m.generation_id
       AND (m.reopened OR g.status NOT IN ('completed', 'failed', 'canceled'));
    RETURN NULL;
END;
$$;

CREATE TRIGGER job_queue_status_mirror
    AFTER UPDATE ON job_queue
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION imagegen_mirror_job_status();
