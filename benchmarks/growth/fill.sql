-- Adds :rows finished generations and their jobs to a database migrated with the product's migrations, spread
-- as a real system's history would be: over 90 days (created_at in insertion order, with jitter), over
-- 10,000 users with a skew (a few heavy users, a long tail: user = floor(10000 * random()^3)), 95 % completed,
-- 5 % failed after 3 attempts, every one with a Replicate prediction id (unique index), started ~1 s and
-- finished 3–60 s after its creation. images rows are not written (neither the claim nor the enqueue reads them).
--
-- To keep the fill to minutes, the two tables' indexes and key constraints are dropped first and recreated
-- afterwards from their own definitions (pg_get_indexdef / pg_get_constraintdef), which builds each index in
-- one sort instead of 10 million random inserts; the script checks at the end that the set of definitions is
-- the same as before. Then VACUUM ANALYZE.
\set ON_ERROR_STOP 1
SET maintenance_work_mem = '256MB';
-- No triggers while filling (finished rows change no quota; the V3 insert trigger would only capture 10M rows
-- in its transition table to find none active) and no FK checks (the keys are dropped anyway).
SET session_replication_role = replica;

CREATE TEMP TABLE saved AS
SELECT 'c' AS kind, c.contype AS contype, c.conname AS name, c.conrelid::regclass::text AS rel,
       pg_get_constraintdef(c.oid) AS def
  FROM pg_constraint c
 WHERE c.contype IN ('p', 'u', 'f')
   AND (c.conrelid IN ('image_generations'::regclass, 'job_queue'::regclass)
        OR c.confrelid IN ('image_generations'::regclass, 'job_queue'::regclass))
UNION ALL
SELECT 'i', NULL, i.indexrelid::regclass::text, i.indrelid::regclass::text, pg_get_indexdef(i.indexrelid)
  FROM pg_index i
 WHERE i.indrelid IN ('image_generations'::regclass, 'job_queue'::regclass)
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid);

CREATE TEMP TABLE before_defs AS SELECT kind, name, rel, def FROM saved;

SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', rel, name) FROM saved WHERE kind = 'c' AND contype = 'f' \gexec
SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', rel, name) FROM saved WHERE kind = 'c' AND contype <> 'f' \gexec
SELECT format('DROP INDEX %s', name) FROM saved WHERE kind = 'i' \gexec

\timing on
INSERT INTO image_generations (id, user_id, prompt, model_id, parameters, status, replicate_prediction_id,
                               error_message, created_at, updated_at, started_at, completed_at)
SELECT gen_random_uuid(), u::text,
       'a lighthouse at dawn, oil painting, variation ' || n,
       'black-forest-labs/flux-schnell',
       '{"width": 1024, "height": 1024, "num_outputs": 1, "output_format": "webp"}'::jsonb,
       CASE WHEN failed THEN 'failed' ELSE 'completed' END,
       substr(md5(n::text), 1, 26),
       CASE WHEN failed THEN 'Replicate reported the prediction failed: NSFW content detected.' END,
       created, created + took, created + interval '1 second', created + took
  FROM (SELECT n, floor(10000 * random() ^ 3)::int AS u, random() < 0.05 AS failed,
               now() - interval '90 days' * (1 - n::float8 / :rows) + interval '1 second' * random() AS created,
               interval '3 seconds' + interval '57 seconds' * random() AS took
          FROM generate_series(1, :rows) n) s;

INSERT INTO job_queue (id, job_type, payload, status, priority, attempt_number, max_attempts, run_at,
                       generation_id, result, error_message, created_at, updated_at, started_at, completed_at,
                       fair_rank)
SELECT gen_random_uuid(), 'generate_image', jsonb_build_object('generation_id', g.id), g.status, 0,
       CASE WHEN g.status = 'failed' THEN 3 ELSE 1 END, 3, g.created_at, g.id,
       CASE WHEN g.status = 'completed'
            THEN jsonb_build_object('prediction_id', g.replicate_prediction_id, 'images', 1) END,
       g.error_message, g.created_at, g.completed_at, g.started_at, g.completed_at,
       floor(3 * random())::int
  FROM image_generations g
 WHERE g.status IN ('completed', 'failed');

-- Every user who ever enqueued has a quota row (at 0: nothing unfinished).
INSERT INTO user_quota (user_id, active)
SELECT DISTINCT user_id, 0 FROM image_generations
ON CONFLICT (user_id) DO NOTHING;

SELECT format('ALTER TABLE %s ADD CONSTRAINT %I %s', rel, name, def) FROM saved WHERE kind = 'c' AND contype <> 'f' ORDER BY contype, name \gexec
SELECT def FROM saved WHERE kind = 'i' ORDER BY name \gexec
SELECT format('ALTER TABLE %s ADD CONSTRAINT %I %s', rel, name, def) FROM saved WHERE kind = 'c' AND contype = 'f' \gexec
\timing off

-- The same constraints and indexes as before the fill, or stop.
CREATE TEMP TABLE after_defs AS
SELECT 'c' AS kind, c.conname::text AS name, c.conrelid::regclass::text AS rel, pg_get_constraintdef(c.oid) AS def
  FROM pg_constraint c
 WHERE c.contype IN ('p', 'u', 'f')
   AND (c.conrelid IN ('image_generations'::regclass, 'job_queue'::regclass)
        OR c.confrelid IN ('image_generations'::regclass, 'job_queue'::regclass))
UNION ALL
SELECT 'i', i.indexrelid::regclass::text, i.indrelid::regclass::text, pg_get_indexdef(i.indexrelid)
  FROM pg_index i
 WHERE i.indrelid IN ('image_generations'::regclass, 'job_queue'::regclass)
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid);
DO $$
BEGIN
    IF EXISTS (SELECT kind, name, rel, def FROM before_defs EXCEPT SELECT kind, name, rel, def FROM after_defs)
       OR EXISTS (SELECT kind, name, rel, def FROM after_defs EXCEPT SELECT kind, name, rel, def FROM before_defs) THEN
        RAISE EXCEPTION 'the schema differs after the fill';
    END IF;
END $$;
