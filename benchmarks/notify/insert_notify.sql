-- The same transaction plus one NOTIFY, as a per-insert trigger or a per-enqueue wake-up would send.
BEGIN;
INSERT INTO notify_bench (payload) VALUES ('{"job":"noop"}');
SELECT pg_notify('imagegen_jobs_bench', 'wake');
COMMIT;
