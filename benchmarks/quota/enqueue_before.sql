-- The enqueue statement before V3 (GenerationRepository.INSERT_WITH_JOB as of c79e825): no quota, no fair rank.
\set u random(1, :users)
WITH g AS (
    INSERT INTO image_generations (user_id, prompt, model_id, parameters, status)
    VALUES ('user-' || :u, 'a lighthouse at dawn', 'black-forest-labs/flux-schnell', '{"width":1024,"height":1024,"num_outputs":1}', 'queued')
    RETURNING id
), j AS (
    INSERT INTO job_queue (job_type, payload, priority, max_attempts, generation_id)
    SELECT 'generate_image', jsonb_build_object('generation_id', g.id), 0, 3, g.id FROM g
    RETURNING id, generation_id
)
SELECT generation_id, id AS job_id FROM j;
