#!/usr/bin/env bash
# The enqueue statement's cost before and after V3 (quota row lock, triggers, fair rank), with pgbench.
#
#   benchmarks/quota/run.sh            # ~4 minutes
#
# Two scratch databases: imagegen_quota_before (migrations V1, V2) and imagegen_quota_after (V1–V3). Each variant
# runs `pgbench -n -c $CLIENTS -j 2 -T $DURATION` RUNS times, interleaved, tables truncated and a CHECKPOINT taken
# before every run: before (many users), after (many users), after (one user: every enqueue waits on the same
# quota row lock). Knobs: CLIENTS (8), DURATION (15), RUNS (3), USERS (1000), PG* (127.0.0.1, postgres).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
CLIENTS=${CLIENTS:-8} DURATION=${DURATION:-15} RUNS=${RUNS:-3} USERS=${USERS:-1000}
OUT=benchmarks/quota/results/$(date -u +%Y%m%dT%H%M%SZ).tsv
MIG=src/main/resources/db/migration
cleanup() { for db in imagegen_quota_before imagegen_quota_after; do psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"; done; }
trap cleanup EXIT
cleanup
for db in imagegen_quota_before imagegen_quota_after; do psql -qX -d postgres -c "CREATE DATABASE $db"; done
psql -qX -v ON_ERROR_STOP=1 -d imagegen_quota_before -f $MIG/V1__schema.sql -f $MIG/V2__job_archive.sql
psql -qX -v ON_ERROR_STOP=1 -d imagegen_quota_after -f $MIG/V1__schema.sql -f $MIG/V2__job_archive.sql -f $MIG/V3__quotas_and_fairness.sql
echo -e "run\tvariant\tusers\tclients\ttps\tloadavg_before" > "$OUT"
for run in $(seq 1 "$RUNS"); do
    for variant in "before imagegen_quota_before enqueue_before.sql $USERS" "after imagegen_quota_after enqueue_after.sql $USERS" \
                   "after imagegen_quota_after enqueue_after.sql 1"; do
        read -r name db script users <<<"$variant"
        psql -qX -d "$db" -c "TRUNCATE job_queue, image_generations CASCADE" -c "CHECKPOINT"
        load=$(cut -d' ' -f1 /proc/loadavg)
        tps=$(pgbench -n -c "$CLIENTS" -j 2 -T "$DURATION" -D users="$users" -D cap=1000000000 \
                -f "benchmarks/quota/$script" "$db" 2>/dev/null | awk '/^tps/ {print $3}')
        rows=$(psql -qXAt -d "$db" -c "SELECT (SELECT count(*) FROM image_generations) = (SELECT count(*) FROM job_queue)")
        [[ $rows == t ]] || { echo "generations and jobs differ after $name" >&2; exit 1; }
        echo -e "$run\t$name\t$users\t$CLIENTS\t$tps\t$load" | tee -a "$OUT"
    done
done
python3 - "$OUT" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
cells = {}
for r in rows:
    cells.setdefault((r["variant"], r["users"]), []).append(float(r["tps"]))
for (v, u), xs in cells.items():
    print(f"| {v} | {u} | {statistics.median(xs):.0f} ({min(xs):.0f}–{max(xs):.0f}) |")
PY
echo "raw: $OUT"
