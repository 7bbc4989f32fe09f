#!/usr/bin/env bash
# Enqueue throughput over HTTP: POST /v1/generations driven by wrk, with and without Idempotency-Key, and in
# the same run the seed's enqueue_job under pgbench -M prepared at the same connection counts (the baseline
# of issue 14's "≥ 0.35× the seed's enqueue_job").
#
# Starts the packaged service (prod profile, worker off, Replicate unreachable) against a scratch database,
# and creates a second scratch database with the seed's schema (benchmarks/drain/seed_schema.sql); runs the
# variants interleaved at several connection counts, prints a summary (with product req/s ÷ seed tx/s per run),
# and removes the databases and the process again.
#
# usage: benchmarks/enqueue/run.sh     (from anywhere; builds the jar if it is missing, or always with REBUILD=1)
# knobs (environment): CONNECTIONS="4 8 32 128" RUNS=3 DURATION=15s WARMUP=60s WARMUP_CONNECTIONS=128 THREADS=2
#                      VARIANTS="nokey key seed" (nokey/key: wrk against the service; seed: pgbench)
#                      USERS=1 (the service's requests take USERS users' tokens in turn; with one user every
#                      enqueue queues on that user's user_quota row lock, V3)
#                      PORT=18081
#                      PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres BENCH_DB=imagegen_bench
#                      SEED_DB=${BENCH_DB}_seed
#                      OUT=benchmarks/enqueue/results/<timestamp>.tsv
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/benchmarks/enqueue

CONNECTIONS=${CONNECTIONS:-"4 8 32 128"}
VARIANTS=${VARIANTS:-"nokey key seed"}
USERS=${USERS:-1}
RUNS=${RUNS:-3}
DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-60s}
WARMUP_CONNECTIONS=${WARMUP_CONNECTIONS:-128}
THREADS=${THREADS:-2}
PORT=${PORT:-18081}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
BENCH_DB=${BENCH_DB:-imagegen_bench}
SEED_DB=${SEED_DB:-${BENCH_DB}_seed}
mkdir -p "$HERE/results"
OUT=${OUT:-$HERE/results/$(date -u +%Y%m%dT%H%M%SZ).tsv}
LOG=${OUT%.tsv}.app.log
SECRET=${SECRET:-bench-secret-bench-secret-bench-secret-0123456789}

for tool in wrk psql pgbench python3 curl java; do
    command -v "$tool" >/dev/null || { echo "missing: $tool (apt-get install -y wrk postgresql-client curl)" >&2; exit 1; }
done
[[ "$BENCH_DB" =~ ^[a-z_][a-z0-9_]*$ && "$SEED_DB" =~ ^[a-z_][a-z0-9_]*$ ]] \
    || { echo "BENCH_DB and SEED_DB must be plain identifiers" >&2; exit 1; }

APP_PID=
cleanup() {
    if [[ -n "$APP_PID" ]] && kill -0 "$APP_PID" 2>/dev/null; then
        kill "$APP_PID" 2>/dev/null || true
        for _ in $(seq 1 60); do kill -0 "$APP_PID" 2>/dev/null || break; sleep 0.5; done
        kill -9 "$APP_PID" 2>/dev/null || true
    fi
    psql -qX -d postgres -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null 2>&1 || true
    psql -qX -d postgres -c "DROP DATABASE IF EXISTS $SEED_DB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -f "${CPU_BEFORE:-}" "${CPU_AFTER:-}"
    if [[ -n "${PGBENCH_LOGS:-}" ]]; then rm -rf "$PGBENCH_LOGS"; fi
    if [[ -n "${BENCH_TOKENS_FILE:-}" ]]; then rm -f "$BENCH_TOKENS_FILE"; fi
    if [[ -n "${IMAGES_DIR:-}" ]]; then rm -rf "$IMAGES_DIR"; fi
}
trap cleanup EXIT INT TERM

if [[ ! -f target/quarkus-app/quarkus-run.jar || "${REBUILD:-0}" == 1 ]]; then
    ./mvnw -B -q package -DskipTests
fi

psql -qX -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB"
# The seed's job_queue and enqueue_job, exactly as the seed document creates them.
psql -qX -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $SEED_DB WITH (FORCE)" -c "CREATE DATABASE $SEED_DB"
psql -qX -v ON_ERROR_STOP=1 -d "$SEED_DB" -f "$ROOT/benchmarks/drain/seed_schema.sql" >/dev/null
PGBENCH_LOGS=$(mktemp -d /tmp/enqueue-pgbench.XXXXXX)

IMAGES_DIR=$(mktemp -d /tmp/imagegen-bench-images.XXXXXX)
# Prod profile (the packaged default), every required setting given; the worker is off so that only the
# API and its insert are measured; Replicate points at a closed port and is never called. The per-user limits
# are off (one benchmark user sends thousands per second); its enqueues still queue on that user's quota row.
QUARKUS_HTTP_PORT=$PORT \
QUARKUS_DATASOURCE_JDBC_URL="jdbc:postgresql://$PGHOST:$PGPORT/$BENCH_DB" \
QUARKUS_DATASOURCE_REACTIVE_URL="postgresql://$PGHOST:$PGPORT/$BENCH_DB" \
QUARKUS_DATASOURCE_USERNAME=$PGUSER \
IMAGEGEN_AUTH_JWT_SECRET=$SECRET \
REPLICATE_API_TOKEN=bench \
IMAGEGEN_REPLICATE_BASE_URL=http://127.0.0.1:9 \
IMAGEGEN_WORKER_ENABLED=false \
IMAGEGEN_LIMITS_ENQUEUE_PER_MINUTE=0 \
IMAGEGEN_LIMITS_MAX_ACTIVE_PER_USER=0 \
IMAGEGEN_STORAGE_DIR=$IMAGES_DIR \
    java ${JAVA_OPTS:-} -jar target/quarkus-app/quarkus-run.jar >"$LOG" 2>&1 &
APP_PID=$!

for i in $(seq 1 120); do
    if curl -fs -o /dev/null "http://127.0.0.1:$PORT/q/health/ready"; then break; fi
    kill -0 "$APP_PID" 2>/dev/null || { echo "the service exited; log: $LOG" >&2; tail -20 "$LOG" >&2; exit 1; }
    [[ $i == 120 ]] && { echo "the service did not become ready in 60 s; log: $LOG" >&2; exit 1; }
    sleep 0.5
done

export BENCH_TOKEN
BENCH_TOKEN=$(python3 "$HERE/mint_token.py" "$SECRET" bench-user 7200)
export BENCH_TOKENS_FILE=
if (( USERS > 1 )); then
    BENCH_TOKENS_FILE=$(mktemp /tmp/enqueue-tokens.XXXXXX)
    python3 "$HERE/mint_token.py" "$SECRET" bench-user 7200 "$USERS" >"$BENCH_TOKENS_FILE"
fi
URL="http://127.0.0.1:$PORT"

# Sanity: one request of each kind answers 202.
for key in "" "sanity-$(date +%s)"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/v1/generations" \
        -H "Authorization: Bearer $BENCH_TOKEN" -H 'Content-Type: application/json' \
        ${key:+-H "Idempotency-Key: $key"} \
        -d '{"prompt":"a lighthouse at dawn, oil painting","width":1024,"height":768,"num_outputs":1}')
    [[ "$code" == 202 ]] || { echo "sanity request answered $code" >&2; exit 1; }
done

reset_db() {
    # Same starting point for every run: empty tables, a fresh checkpoint (one CHECKPOINT covers both databases).
    psql -qX -v ON_ERROR_STOP=1 -d "$SEED_DB" -c "TRUNCATE job_queue"
    psql -qX -v ON_ERROR_STOP=1 -d "$BENCH_DB" \
        -c "TRUNCATE images, idempotency_keys, job_queue, image_generations CASCADE" -c "CHECKPOINT"
}

# The seed's enqueue_job under pgbench, prepared statements, as many clients as wrk has connections; every
# transaction's latency is logged (-l) so that p50/p90/p99 are computed from all of them, as wrk does. Prints
# a RESULT line in enqueue.lua's format (status_202 = transactions that succeeded, status_other = failed ones).
# pgbench's backends exist only while it runs, so their CPU is read 2 s after the start and 2 s before the end,
# and scaled to the whole run (× secs / (secs − 4)); it goes to $PGBENCH_LOGS/seed_pg_cpu_ms.
run_seed() { # connections duration -> RESULT line
    local conns=$1 secs=${2%s} jobs=2 pid
    (( conns < 2 )) && jobs=1
    rm -f "$PGBENCH_LOGS"/seed_log* "$PGBENCH_LOGS"/seed_pg_cpu_ms
    (cd "$PGBENCH_LOGS" && exec timeout $((secs + 60)) pgbench -n -M prepared -c "$conns" -j "$jobs" -T "$secs" \
        -l --log-prefix=seed_log -f "$HERE/seed_enqueue.pgbench" "$SEED_DB" >"$PGBENCH_LOGS/out" 2>&1) &
    pid=$!
    if (( secs > 6 )); then
        sleep 2; backend_cpu "$SEED_DB" >"$PGBENCH_LOGS/cpu0"
        sleep $((secs - 4)); backend_cpu "$SEED_DB" >"$PGBENCH_LOGS/cpu1"
        python3 - "$PGBENCH_LOGS/cpu0" "$PGBENCH_LOGS/cpu1" "$(getconf CLK_TCK)" "$secs" >"$PGBENCH_LOGS/seed_pg_cpu_ms" <<'PY'
import sys
def load(f):
    return {l.split()[0]: int(l.split()[1]) for l in open(f) if l.strip()}
a, b, hz, secs = load(sys.argv[1]), load(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(f"{sum(t - a.get(p, t) for p, t in b.items()) * 1000 / hz * secs / (secs - 4):.0f}")
PY
    fi
    wait "$pid" || { cat "$PGBENCH_LOGS/out" >&2; return 1; }
    python3 "$HERE/pgbench_result.py" "$PGBENCH_LOGS" <"$PGBENCH_LOGS/out"
}

run_wrk() { # variant connections duration -> RESULT line
    local variant=$1 conns=$2 dur=$3
    BENCH_IDEMPOTENCY=$([[ $variant == key ]] && echo 1 || echo 0) \
        wrk -t"$THREADS" -c"$conns" -d"$dur" --timeout 30s --latency -s "$HERE/enqueue.lua" "$URL" | grep '^RESULT'
}

# CPU time actually spent, which the other tenants of a shared machine do not inflate much: "pid ticks" lines
# for the service and for every PostgreSQL backend connected to the scratch database.
cpu_snapshot() {
    [[ -r /proc/$APP_PID/stat ]] && awk -v p="$APP_PID" '{ sub(/^.*\) /, ""); print p, $12 + $13 }' "/proc/$APP_PID/stat"
    backend_cpu "$BENCH_DB"
}
backend_cpu() { # database -> "pid ticks" for every backend connected to it
    local pid
    for pid in $(psql -qAtX -d "$1" -c \
        "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"); do
        [[ -r /proc/$pid/stat ]] && awk -v p="$pid" '{ sub(/^.*\) /, ""); print p, $12 + $13 }' "/proc/$pid/stat"
    done
    return 0
}
cpu_delta_ms() { # before-file after-file -> "app_ms pg_ms"
    python3 - "$1" "$2" "$APP_PID" "$(getconf CLK_TCK)" <<'PY'
import sys
def load(f):
    return {l.split()[0]: int(l.split()[1]) for l in open(f) if l.strip()}
before, after, app, hz = load(sys.argv[1]), load(sys.argv[2]), sys.argv[3], int(sys.argv[4])
app_ms = (after.get(app, 0) - before.get(app, 0)) * 1000 / hz
pg_ms = sum(t - before.get(p, 0) for p, t in after.items() if p != app) * 1000 / hz
print(f"{app_ms:.0f}\t{pg_ms:.0f}")
PY
}
CPU_BEFORE=$(mktemp) CPU_AFTER=$(mktemp)

# The JIT needs tens of thousands of requests before the service runs at its speed (a first attempt with
# 45 s at 32 connections left run 1 at a third of the later runs' rate): warm up at high concurrency.
echo "# warm-up ($WARMUP each service variant at $WARMUP_CONNECTIONS connections, not recorded)" >&2
reset_db
for variant in $VARIANTS; do
    [[ $variant == seed ]] || run_wrk "$variant" "$WARMUP_CONNECTIONS" "$WARMUP" >&2
done

printf 'run\tvariant\tconnections\trequests\trps\tp50_ms\tp90_ms\tp99_ms\tmax_ms\tstatus_202\tstatus_other\tsocket_errors\ttimeouts\tgenerations_rows\tjobs_rows\tkeys_rows\tapp_cpu_ms\tpg_cpu_ms\tloadavg_before\tusers\n' >"$OUT"
# Interleaved (run → connections → variant) so that drift affects every variant alike.
read -r -a VARIANT_LIST <<<"$VARIANTS"
for run in $(seq 1 "$RUNS"); do
    for c in $CONNECTIONS; do
        # The order of the variants rotates from run to run, so that none always goes first.
        shift_by=$(( (run - 1) % ${#VARIANT_LIST[@]} ))
        variants="${VARIANT_LIST[*]:$shift_by} ${VARIANT_LIST[*]:0:$shift_by}"
        for variant in $variants; do
            reset_db
            load=$(cut -d' ' -f1 /proc/loadavg)
            if [[ $variant == seed ]]; then
                # No service in this variant: service CPU empty, PostgreSQL CPU as run_seed measured it.
                line=$(run_seed "$c" "$DURATION")
                cpu=$'\t'$(cat "$PGBENCH_LOGS/seed_pg_cpu_ms" 2>/dev/null || true)
                counts=$(psql -qAtX -F $'\t' -d "$SEED_DB" -c "SELECT 0, (SELECT count(*) FROM job_queue), 0")
            else
                cpu_snapshot >"$CPU_BEFORE"
                line=$(run_wrk "$variant" "$c" "$DURATION")
                cpu_snapshot >"$CPU_AFTER"
                cpu=$(cpu_delta_ms "$CPU_BEFORE" "$CPU_AFTER")
                counts=$(psql -qAtX -F $'\t' -d "$BENCH_DB" -c \
                    "SELECT (SELECT count(*) FROM image_generations), (SELECT count(*) FROM job_queue), (SELECT count(*) FROM idempotency_keys)")
            fi
            row=$(python3 - "$line" <<'PY'
import sys
kv = dict(p.split("=", 1) for p in sys.argv[1].split()[1:])
print("\t".join(kv[k] for k in ["requests", "rps", "p50_ms", "p90_ms", "p99_ms", "max_ms", "status_202",
                                "status_other", "socket_errors", "timeouts"]))
PY
)
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$variant" "$c" "$row" "$counts" "$cpu" "$load" "$USERS" | tee -a "$OUT" >&2
        done
    done
done

python3 "$HERE/summarize.py" "$OUT"
echo "raw: $OUT   app log: $LOG" >&2
