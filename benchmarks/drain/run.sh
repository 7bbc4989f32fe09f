#!/usr/bin/env bash
# Queue drain, the product against the seed, in the same run (issue 14 item 3).
#
#   product: QueueDrainBenchmark (src/test/java/dev/imagegen/bench) with CLAIMERS concurrent claimers, each looping
#            "JobRepository.claim(B) → complete every claimed job on its own through JobCompleter, all at once"
#            (mode "completer", the worker's path: the completer gathers the completions that arrive together into
#            one statement), until JOBS seeded pending jobs (each with its generation) are drained, for each claim
#            size B in BATCHES (32 is the worker's default slot count, IMAGEGEN_WORKER_MAX_PARALLEL_JOBS). MODES
#            may add "each" (one completion statement per job, one after the other) for reference.
#   seed:    the seed's claim_next_job + complete_job (seed_schema.sql, copied from the seed document) from 8
#            pgbench clients for SEED_SECONDS on a backlog of SEED_JOBS (seed_drain.sh).
# The seed drain runs once at the start of every run, inside the benchmark's JVM run (bench.seed-cmd), so that each
# ratio "product jobs/s ÷ seed jobs/s" is computed within one run; the summary prints medians and min–max over RUNS.
#
# usage: benchmarks/drain/run.sh
# knobs (environment): RUNS=3 JOBS=40000 CLAIMERS=8 BATCHES=32,100 MODES=completer (add ",each" for one statement per job) SEED_JOBS=100000 SEED_SECONDS=10
#                      SEED_CLIENTS=8 MAX_SECONDS=120 (cap per product drain) TIME_LIMIT=1800 (cap of the whole script)
#                      PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres SEED_DB=imagegen_drain_seed
# Stops by itself: every drain is capped, the whole run is under `timeout TIME_LIMIT`, and the seed database is
# dropped on exit. The product side runs in the test suite's own scratch database (created and dropped by it).
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=benchmarks/drain
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
export SEED_DB=${SEED_DB:-imagegen_drain_seed} SEED_JOBS=${SEED_JOBS:-100000} SEED_SECONDS=${SEED_SECONDS:-10}
export SEED_CLIENTS=${SEED_CLIENTS:-8}
TIME_LIMIT=${TIME_LIMIT:-1800}
[[ "$SEED_DB" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "SEED_DB must be a plain identifier" >&2; exit 1; }
for tool in psql pgbench timeout; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done
cleanup() {
    psql -qX -d postgres -c "DROP DATABASE IF EXISTS $SEED_DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM
psql -qX -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $SEED_DB WITH (FORCE)" -c "CREATE DATABASE $SEED_DB"
psql -qX -v ON_ERROR_STOP=1 -d "$SEED_DB" -f "$HERE/seed_schema.sql" >/dev/null
mkdir -p "$HERE/results"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
export BENCH_OUT=$PWD/$HERE/results/$STAMP.tsv
export BENCH_JOBS=${JOBS:-40000} BENCH_CLAIMERS=${CLAIMERS:-8} BENCH_BATCHES=${BATCHES:-32,100}
export BENCH_MODES=${MODES:-completer} BENCH_RUNS=${RUNS:-3} BENCH_FINISHED=0 BENCH_GENERATIONS=true
export BENCH_MAX_SECONDS=${MAX_SECONDS:-120}
export BENCH_SEED_CMD="$PWD/$HERE/seed_drain.sh"
echo "# $(date -u +%FT%TZ) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); raw: $BENCH_OUT" | tee "$HERE/results/$STAMP.log"
timeout --kill-after=30s "$TIME_LIMIT" ./mvnw -B -o test -Dtest=QueueDrainBenchmark -Dsurefire.failIfNoSpecifiedTests=false \
    | grep --line-buffered -E '^\[bench\]|^\||^seed drain|Tests run:|ERROR' | tee -a "$HERE/results/$STAMP.log"
