#!/usr/bin/env bash
# NOTIFY cost: pgbench transactions inserting one row, with and without a pg_notify in the same transaction.
#
# Creates a scratch database, runs the two scripts alternately (RUNS times each, CLIENTS clients, DURATION
# seconds), prints tps median / min-max and the ratio, and drops the database again.
#
# usage: benchmarks/notify/run.sh
# knobs (environment): CLIENTS=8 THREADS=2 DURATION=15 RUNS=3
#                      SCRIPTS="insert.sql insert_notify.sql insert_notify_1in100.sql" PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres
#                      BENCH_DB=imagegen_notify_bench OUT=benchmarks/notify/results/<timestamp>.tsv
set -euo pipefail

cd "$(dirname "$0")"
HERE=$PWD
CLIENTS=${CLIENTS:-8}
THREADS=${THREADS:-2}
DURATION=${DURATION:-15}
RUNS=${RUNS:-3}
SCRIPTS=${SCRIPTS:-"insert.sql insert_notify.sql insert_notify_1in100.sql"}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
BENCH_DB=${BENCH_DB:-imagegen_notify_bench}
mkdir -p "$HERE/results"
OUT=${OUT:-$HERE/results/$(date -u +%Y%m%dT%H%M%SZ).tsv}
[[ "$BENCH_DB" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "BENCH_DB must be a plain identifier" >&2; exit 1; }
for tool in pgbench psql python3; do command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }; done

cleanup() { psql -qX -d postgres -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM

psql -qX -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB"
psql -qX -v ON_ERROR_STOP=1 -d "$BENCH_DB" -c \
    "CREATE TABLE notify_bench (id bigserial PRIMARY KEY, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"

settings=$(psql -qAtX -d "$BENCH_DB" -c "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings
    WHERE name IN ('synchronous_commit', 'fsync', 'shared_buffers', 'wal_level')")
echo "# $(psql -qAtX -d "$BENCH_DB" -c 'SELECT version()')" >&2
echo "# $settings; clients=$CLIENTS threads=$THREADS duration=${DURATION}s runs=$RUNS" >&2

run_one() { # script -> tps
    psql -qX -d "$BENCH_DB" -c "TRUNCATE notify_bench" -c "CHECKPOINT"
    pgbench -n -c "$CLIENTS" -j "$THREADS" -T "$DURATION" -f "$HERE/$1" "$BENCH_DB" 2>/dev/null \
        | awk '/^tps = / { print $3; exit }'
}

# Short warm-up of each, not recorded.
for script in $SCRIPTS; do DURATION=3 run_one "$script" >/dev/null; done

printf 'run\tscript\tclients\tduration_s\ttps\tloadavg_before\n' >"$OUT"
for run in $(seq 1 "$RUNS"); do
    for script in $SCRIPTS; do
        load=$(cut -d' ' -f1 /proc/loadavg)
        tps=$(run_one "$script")
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$script" "$CLIENTS" "$DURATION" "$tps" "$load" | tee -a "$OUT" >&2
    done
done

python3 - "$OUT" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
scripts = list(dict.fromkeys(r["script"] for r in rows))
med = {}
print("| script | clients | runs | tps median (min–max) | ratio to insert.sql (medians) |")
print("| --- | ---: | ---: | ---: | ---: |")
for script in scripts:
    tps = [float(r["tps"]) for r in rows if r["script"] == script]
    med[script] = statistics.median(tps)
for script in scripts:
    tps = [float(r["tps"]) for r in rows if r["script"] == script]
    ratio = f"{med[script] / med['insert.sql']:.2f}" if "insert.sql" in med else "–"
    print(f"| {script} | {rows[0]['clients']} | {len(tps)} | {med[script]:.0f} ({min(tps):.0f}–{max(tps):.0f}) | {ratio} |")
PY
echo "raw: $OUT" >&2
