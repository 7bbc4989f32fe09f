-- The same transaction, with a NOTIFY in only one transaction in a hundred (chosen at random): what a
-- debounced wake-up amounts to when enqueues come faster than the debounce window.
\set r random(1, 100)
BEGIN;
INSERT INTO notify_bench (payload) VALUES ('{"job":"noop"}');
\if :r = 1
SELECT pg_notify('imagegen_jobs_bench', 'wake');
\endif
COMMIT;
