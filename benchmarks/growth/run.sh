#!/usr/bin/env bash
# Growth: the product's claim and enqueue statements on an empty job_queue and on one holding 10 million finished
# jobs, measured side by side in the same invocation (issue 14: claim latency ≤ 2×, enqueue latency ≤ 1.5× the
# empty-table figures).
#
# Two scratch databases migrated with the product's Flyway migrations (src/main/resources/db/migration, applied
# in order with psql): EMPTY, and FULL, into which fill.sql adds FILL_ROWS finished generations and their jobs
# (then VACUUM ANALYZE). The statements are taken from the Java source by extract_sql.py (JobRepository.CLAIM,
# GenerationRepository.INSERT_WITH_JOB) and run under pgbench -M prepared, CLIENTS clients, DURATION seconds,
# every transaction's latency logged. Each run measures four cells, interleaved and in an order that rotates
# from run to run: claim on EMPTY, claim on FULL, enqueue on EMPTY, enqueue on FULL. Before each claim cell its
# database gets a fresh backlog of BACKLOG pending jobs (the previous backlog and the enqueued rows are deleted
# first), so both claim the same kind of queue. Ratios FULL ÷ EMPTY are computed inside each run. At the end it
# prints the claim's EXPLAIN (ANALYZE, BUFFERS) on both databases (in a rolled-back transaction) and drops them.
#
# usage: benchmarks/growth/run.sh      (~15 minutes on a loaded 2-core machine, most of it the fill)
# knobs: FILL_ROWS=10000000 RUNS=3 DURATION=15 CLIENTS=4 CLAIM_LIMIT=10 BACKLOG=100000 USERS=1000
#        DB_PREFIX=imagegen_growth (databases ${DB_PREFIX}_empty, ${DB_PREFIX}_full) PGHOST PGPORT PGUSER
#        OUT=benchmarks/growth/results/<timestamp>.tsv
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/benchmarks/growth

FILL_ROWS=${FILL_ROWS:-10000000}
RUNS=${RUNS:-3}
DURATION=${DURATION:-15}
CLIENTS=${CLIENTS:-4}
CLAIM_LIMIT=${CLAIM_LIMIT:-10}
BACKLOG=${BACKLOG:-100000}
USERS=${USERS:-1000}
DB_PREFIX=${DB_PREFIX:-imagegen_growth}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
EMPTY=${DB_PREFIX}_empty FULL=${DB_PREFIX}_full
[[ "$DB_PREFIX" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "DB_PREFIX must be a plain identifier" >&2; exit 1; }
mkdir -p "$HERE/results"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-$HERE/results/$STAMP.tsv}
DETAILS=${OUT%.tsv}.txt
for tool in psql pgbench python3; do command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }; done

# psql, retried for up to 30 s: the server is shared, and its 100 connections are sometimes all taken by other
# benchmarks for a moment ("too many clients already").
pg() {
    local i
    for i in $(seq 1 30); do
        psql "$@" 2>/dev/null && return 0
        sleep 1
    done
    psql "$@"
}

WORK=$(mktemp -d /tmp/growth.XXXXXX)
cleanup() {
    for db in "$EMPTY" "$FULL"; do
        psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

python3 "$HERE/extract_sql.py" "$ROOT/src/main/java/dev/imagegen" "$WORK"
{
    echo "# growth run $STAMP: FILL_ROWS=$FILL_ROWS RUNS=$RUNS DURATION=$DURATION CLIENTS=$CLIENTS CLAIM_LIMIT=$CLAIM_LIMIT BACKLOG=$BACKLOG USERS=$USERS"
    echo "# commit $(git rev-parse --short HEAD); statements as run:"
    cat "$WORK/claim.pgbench" "$WORK/enqueue.pgbench"
} >"$DETAILS"

for db in "$EMPTY" "$FULL"; do
    psql -qX -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
    for f in "$ROOT"/src/main/resources/db/migration/V*__*.sql; do
        psql -qX -v ON_ERROR_STOP=1 -d "$db" -f "$f" >/dev/null
    done
done

echo "# filling $FULL with $FILL_ROWS finished jobs (load $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$DETAILS" >&2
t0=$(date +%s)
timeout 3600 psql -qX -v ON_ERROR_STOP=1 -v rows="$FILL_ROWS" -d "$FULL" -f "$HERE/fill.sql" >>"$DETAILS"
t1=$(date +%s)
psql -qX -v ON_ERROR_STOP=1 -d "$FULL" -c "VACUUM ANALYZE"
psql -qX -v ON_ERROR_STOP=1 -d "$EMPTY" -c "VACUUM ANALYZE"
t2=$(date +%s)
{
    echo "# fill $((t1 - t0)) s, VACUUM ANALYZE $((t2 - t1)) s; sizes:"
    psql -qX -d "$FULL" -c "SELECT relname, n_live_tup, pg_size_pretty(pg_total_relation_size(relid)) AS total
                              FROM pg_stat_user_tables WHERE relname IN ('job_queue', 'image_generations', 'user_quota')"
    psql -qAtX -d "$FULL" -c "SELECT 'database size ' || pg_size_pretty(pg_database_size(current_database()))"
} | tee -a "$DETAILS" >&2

refill_backlog() { # db: a fresh backlog of BACKLOG pending jobs, spread over 1000 other users, as enqueued
    pg -qX -v ON_ERROR_STOP=1 -d "$1" >/dev/null <<SQL
-- The previous backlog and whatever was enqueued since (found through the partial indexes, not a 10M-row scan).
DELETE FROM image_generations WHERE id IN (SELECT generation_id FROM job_queue WHERE status = 'pending');
DELETE FROM image_generations WHERE id IN (SELECT generation_id FROM job_queue WHERE status = 'processing');
WITH g AS (
    INSERT INTO image_generations (user_id, prompt, model_id, parameters, status)
    SELECT 'backlog-' || (n % 1000), 'a lighthouse at dawn, oil painting', 'black-forest-labs/flux-schnell',
           '{"width": 1024, "height": 1024, "num_outputs": 1}', 'queued'
      FROM generate_series(1, $BACKLOG) n
    RETURNING id, user_id)
INSERT INTO job_queue (job_type, payload, generation_id, fair_rank)
SELECT 'generate_image', jsonb_build_object('generation_id', g.id), g.id,
       row_number() OVER (PARTITION BY g.user_id) - 1
  FROM g;
CHECKPOINT;
SQL
}

run_cell() { # db statement -> "tps p50 p90 p99 max transactions failed"
    local db=$1 statement=$2 out line attempt
    for attempt in 1 2 3; do   # again if a connection was refused ("too many clients already")
        rm -f "$WORK"/cell_log*
        out=$(cd "$WORK" && timeout $((DURATION + 60)) pgbench -n -M prepared -c "$CLIENTS" -j 2 -T "$DURATION" \
            -l --log-prefix=cell_log \
            -D claim_limit="$CLAIM_LIMIT" -D replica=bench-replica -D lease_seconds=120 \
            -D users="$USERS" -D prompt="a lighthouse at dawn, oil painting" -D model=black-forest-labs/flux-schnell \
            -D parameters='{"width":1024,"height":768,"num_outputs":1}' -D priority=0 -D max_attempts=3 -D max_active=50 \
            -f "$WORK/$statement.pgbench" "$db" 2>&1) && break
        grep -q 'too many clients' <<<"$out" && (( attempt < 3 )) || { echo "$out" >&2; return 1; }
        sleep 5
    done
    line=$(python3 "$ROOT/benchmarks/enqueue/pgbench_result.py" "$WORK" cell_log <<<"$out")
    python3 - "$line" <<'PY'
import sys
kv = dict(p.split("=", 1) for p in sys.argv[1].split()[1:])
print("\t".join(kv[k] for k in ["rps", "p50_ms", "p90_ms", "p99_ms", "max_ms", "requests", "status_other"]))
PY
}

printf 'run\tdb\tstatement\tclients\tclaim_limit\ttps\tp50_ms\tp90_ms\tp99_ms\tmax_ms\ttransactions\tfailed\tjob_queue_rows\tpending_after\tloadavg_before\n' >"$OUT"
CELLS=("$EMPTY claim" "$FULL claim" "$EMPTY enqueue" "$FULL enqueue")
for run in $(seq 1 "$RUNS"); do
    for k in 0 1 2 3; do
        read -r db statement <<<"${CELLS[$(( (k + run - 1) % 4 ))]}"
        [[ $statement == claim ]] && refill_backlog "$db"
        load=$(cut -d' ' -f1 /proc/loadavg)
        result=$(run_cell "$db" "$statement")
        counts=$(pg -qAtX -F $'\t' -d "$db" -c \
            "SELECT (SELECT count(*) FROM job_queue), (SELECT count(*) FROM job_queue WHERE status = 'pending')")
        name=empty; [[ $db == "$FULL" ]] && name=full
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$name" "$statement" "$CLIENTS" "$CLAIM_LIMIT" "$result" \
            "$counts" "$load" | tee -a "$OUT" >&2
    done
done

# The claim's plan on both databases, with a backlog, in a transaction that is rolled back; twice, so that the
# second shows it with the session's trigger plans cached. auto_explain (contrib, loaded for this session only)
# also shows the statements the triggers run (the V4 mirror's UPDATE of image_generations, the quota and the
# status triggers), as NOTICEs.
for db in "$FULL" "$EMPTY"; do
    refill_backlog "$db"
    claim_sql=$(sed -e '/^--/d' -e "s/:claim_limit/$CLAIM_LIMIT/; s/:replica/'bench-replica'/; s/:lease_seconds/120/" \
        "$WORK/claim.pgbench")
    {
        echo "# EXPLAIN (ANALYZE, BUFFERS) of the claim (limit $CLAIM_LIMIT) on $db, $BACKLOG pending, twice:"
        psql -qX -d "$db" 2>&1 <<SQL
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_analyze = on;
SET auto_explain.log_buffers = on;
SET auto_explain.log_nested_statements = on;
SET auto_explain.log_level = notice;
SET client_min_messages = notice;
BEGIN; EXPLAIN (ANALYZE, BUFFERS) $claim_sql ROLLBACK;
BEGIN; EXPLAIN (ANALYZE, BUFFERS) $claim_sql ROLLBACK;
SQL
    } >>"$DETAILS"
done

python3 "$HERE/summarize.py" "$OUT" | tee -a "$DETAILS"
echo "raw: $OUT   details (fill, sizes, statements, plans): $DETAILS" >&2
