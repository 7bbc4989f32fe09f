-- One enqueue-like transaction without a wake-up.
BEGIN;
INSERT INTO notify_bench (payload) VALUES ('{"job":"noop"}');
COMMIT;
