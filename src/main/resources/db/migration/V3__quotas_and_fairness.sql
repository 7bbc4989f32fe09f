-- imagegen-queue schema, version 3: per-user quotas and fair claiming.
--
-- 1. user_quota counts each user's unfinished generations (status not completed, failed or canceled).
--    Triggers on image_generations keep it exact whatever changes a generation (enqueue, worker, cancel,
--    rescue, an operator's retry, deletes, plain SQL), so no code path has to remember it.
--    The enqueue statement locks the user's row with INSERT … ON CONFLICT DO UPDATE … WHERE active < cap:
--    concurrent enqueues of one user, from any replica, queue on that row lock, and ON CONFLICT re-checks
--    the latest committed count, so the cap holds across replicas. (A count(*) in the statement would not:
--    two transactions would both count 49 and both insert.)
-- 2. job_queue.fair_rank is the number of unfinished generations the user already had when the job was
--    enqueued. The claim orders by (priority DESC, fair_rank, run_at, id), so among equal priority a
--    user's first job is served before the 10,000th job of a user with a backlog, and the claim stays one
--    scan of one partial index (a window function over the backlog would read all of it per claim).

-- ---------------------------------------------------------------------------------------------
-- user_quota
-- ---------------------------------------------------------------------------------------------
CREATE TABLE user_quota (
    -- image_generations.user_id (operators without a subject are recorded as 'service_role').
    user_id text    PRIMARY KEY,
    -- The user's generations not yet completed, failed or canceled.
    active  integer NOT NULL DEFAULT 0 CHECK (active >= 0)
);

-- Whether a generation in this status counts against its owner's quota (it has not finished).
CREATE FUNCTION imagegen_generation_active(status text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT status NOT IN ('completed', 'failed', 'canceled')
$$;

INSERT INTO user_quota (user_id, active)
SELECT user_id, count(*)
  FROM image_generations
 WHERE imagegen_generation_active(status)
 GROUP BY user_id;

-- Applies one statement's net change in unfinished generations per user. Statement-level, so a
-- statement that touches many rows costs one quota update per user, never one per row; users are
-- updated in user_id order, so two such statements cannot deadlock on each other's quota rows.
-- A status change inside the active set (queued → processing → downloading) nets to zero and writes
-- nothing. The floor at 0 keeps a worker's transition from ever failing over this counter.
CREATE FUNCTION imagegen_count_active_generations() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    users  text[];
    deltas integer[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(user_id ORDER BY user_id), array_agg(n ORDER BY user_id) INTO users, deltas
          FROM (SELECT user_id, count(*)::integer AS n FROM new_rows
                 WHERE imagegen_generation_active(status) GROUP BY user_id) c;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(user_id ORDER BY user_id), array_agg(n ORDER BY user_id) INTO users, deltas
          FROM (SELECT user_id, -count(*)::integer AS n FROM old_rows
                 WHERE imagegen_generation_active(status) GROUP BY user_id) c;
    ELSE
        SELECT array_agg(user_id ORDER BY user_id), array_agg(n ORDER BY user_id) INTO users, deltas
          FROM (SELECT user_id, sum(n)::integer AS n
                  FROM (SELECT user_id, 1 AS n FROM new_rows WHERE imagegen_generation_active(status)
                        UNION ALL
                        SELECT user_id, -1 AS n FROM old_rows WHERE imagegen_generation_active(status)) x
                 GROUP BY user_id
                HAVING sum(n) <> 0) c;
    END IF;
    IF users IS NULL THEN
        RETURN NULL;
    END IF;
    FOR i IN 1 .. array_length(users, 1) LOOP
        IF deltas[i] > 0 THEN
            INSERT INTO user_quota AS q (user_id, active) VALUES (users[i], deltas[i])
            ON CONFLICT (user_id) DO UPDATE SET active = q.active + excluded.active;
        ELSE
            UPDATE user_quota SET active = greatest(active + deltas[i], 0) WHERE user_id = users[i];
        END IF;
    END LOOP;
    RETURN NULL;
END;
$$;

-- Transition tables allow one event per trigger, hence three triggers on one function.
CREATE TRIGGER image_generations_quota_insert
    AFTER INSERT ON image_generations
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION imagegen_count_active_generations();

CREATE TRIGGER image_generations_quota_update
    AFTER UPDATE ON image_generations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION imagegen_count_active_generations();

CREATE TRIGGER image_generations_quota_delete
    AFTER DELETE ON image_generations
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION imagegen_count_active_generations();

-- TRUNCATE fires no row or DELETE trigger: an emptied table means nobody has anything unfinished.
CREATE FUNCTION imagegen_reset_user_quota() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM user_quota;
    RETURN NULL;
END;
$$;

CREATE TRIGGER image_generations_quota_truncate
    AFTER TRUNCATE ON image_generations
    FOR EACH STATEMENT EXECUTE FUNCTION imagegen_reset_user_quota();

-- ---------------------------------------------------------------------------------------------
-- Fair claiming
-- ---------------------------------------------------------------------------------------------
-- Jobs without a user (other job types) and every job enqueued before this migration start at 0.
ALTER TABLE job_queue ADD COLUMN fair_rank integer NOT NULL DEFAULT 0 CHECK (fair_rank >= 0);

-- The backlog present at migration time gets the ranks it would have had: each user's pending jobs
-- numbered from 0, oldest first.
UPDATE job_queue j
   SET fair_rank = r.rank
  FROM (SELECT q.id, row_number() OVER (PARTITION BY g.user_id ORDER BY q.created_at, q.id) - 1 AS rank
          FROM job_queue q JOIN image_generations g ON g.id = q.generation_id
         WHERE q.status = 'pending') r
 WHERE j.id = r.id AND r.rank > 0;

-- The claim's index, now in the claim's new order. Still partial: as small as the backlog, however many
-- finished rows the table holds. Same name, so tools and benchmarks that look it up keep working.
DROP INDEX job_queue_claim_idx;
CREATE INDEX job_queue_claim_idx
    ON job_queue (priority DESC, fair_rank, run_at, id)
    WHERE status = 'pending';
