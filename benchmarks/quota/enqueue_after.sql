-- The enqueue statement with V3 (GenerationRepository.INSERT_WITH_JOB): quota row lock + check, fair rank;
-- the quota triggers fire on the insert. The cap (:cap) is set high enough that no enqueue is refused.
\set u random(1, :users)
WITH quota AS (
    INSERT INTO user_quota AS q (user_id, active) VALUES ('user-' || :u, 0)
    ON CONFLICT (user_id) DO UPDATE SET active = q.active
     WHERE q.active < :cap
    RETURNING q.active
), g AS (
    INSERT INTO image_generations (user_id, prompt, model_id, parameters, status)
    SELECT 'user-' || :u, 'a lighthouse at dawn', 'black-forest-labs/flux-schnell', '{"width":1024,"height":1024,"num_outputs":1}', 'queued' FROM quota
    RETURNING id
), j AS (
    INSERT INTO job_queue (job_type, payload, priority, max_attempts, generation_id, fair_rank)
    SELECT 'generate_image', jsonb_build_object('generation_id', g.id), 0, 3, g.id, quota.active
      FROM g, quota
    RETURNING id, generation_id
)
SELECT generation_id, id AS job_id FROM j;
