#!/usr/bin/env bash
# The seed's drain, once: refills the seed schema's job_queue with a backlog of SEED_JOBS pending jobs and runs
# claim_next_job + complete_job (seed_drain.pgbench) from SEED_CLIENTS pgbench clients for SEED_SECONDS.
# Prints one line "seed jobs_per_s=<rate> completed=<n> failed=<n> loadavg=<1-min>". Called by run.sh (through
# QueueDrainBenchmark's bench.seed-cmd, so that it runs inside the same run as the product's drain); it only
# touches the database SEED_DB, which run.sh creates and drops.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
SEED_DB=${SEED_DB:?SEED_DB is set by run.sh}
SEED_JOBS=${SEED_JOBS:-100000}
SEED_SECONDS=${SEED_SECONDS:-10}
SEED_CLIENTS=${SEED_CLIENTS:-8}
psql -qX -v ON_ERROR_STOP=1 -d "$SEED_DB" \
    -c "TRUNCATE job_queue" \
    -c "INSERT INTO job_queue (job_type, payload) SELECT 'noop', '{}' FROM generate_series(1, $SEED_JOBS)" \
    -c "VACUUM ANALYZE job_queue" -c "CHECKPOINT"
load=$(cut -d' ' -f1 /proc/loadavg)
out=$(timeout $((SEED_SECONDS + 60)) pgbench -n -M prepared -c "$SEED_CLIENTS" -j 2 -T "$SEED_SECONDS" \
    -f "$HERE/seed_drain.pgbench" "$SEED_DB" 2>&1) || { echo "$out" >&2; exit 1; }
tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' <<<"$out")
failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
completed=$(psql -qAtX -d "$SEED_DB" -c "SELECT count(*) FROM job_queue WHERE status = 'completed'")
[[ -n "$tps" ]] || { echo "$out" >&2; exit 1; }
echo "seed jobs_per_s=$tps completed=$completed failed=${failed:-?} loadavg=$load"
