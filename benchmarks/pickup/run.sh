#!/usr/bin/env bash
# Pickup latency on an idle replica: from the 202 answer to POST /v1/generations arriving at the client to the
# prediction's create request arriving at the Replicate fake (issue 14: p50 ≤ 2 ms, p99 ≤ 10 ms).
#
# Each run starts, from scratch, the Replicate fake (benchmarks/pickup/FakeReplicateServer.java: the project's
# simulator, logging every create's arrival in µs with its prompt) and the packaged service (prod profile, worker
# on, MODE webhook or polling) against a scratch database; then client.py enqueues WARMUP generations, one every
# WARMUP_INTERVAL seconds (not recorded: they let the JIT compile the path), waits until all of them were
# created at the fake and none is pending any more (a first attempt waited a fixed 5 s, and its first ~40 samples
# still queued behind the warm-up's backlog: results/20261205T123022Z-attempt-warmup-backlog*), then SETTLE
# seconds, and enqueues SAMPLES more, one every INTERVAL seconds, each prompt carrying a marker; analyze.py joins the
# two sides on the marker (same host: both clocks are the same wall clock). Predictions take DELAY_MS at the fake,
# so at most a few are in flight: the replica is otherwise idle. Both processes are stopped by PID and the
# database dropped after every run (also on failure or Ctrl-C).
#
# usage: benchmarks/pickup/run.sh     (~2 minutes a run on a loaded 2-core machine)
# The warm-up stays under the service's create pacing (IMAGEGEN_REPLICATE_CREATES_PER_MINUTE, 600 by default,
# paced at 97 % of it: one create every ~103 ms): a first attempt warmed up at 50 a second and its recorded
# requests queued behind ~1,000 paced creates (results/20261205T122620Z-attempt-warmup-above-pacer.tsv).
# knobs: RUNS=3 WARMUP=400 WARMUP_INTERVAL=0.12 SETTLE=5 SAMPLES=300 INTERVAL=0.2 MODE=webhook DELAY_MS=500 PORT=18095 FAKE_PORT=18096
#        BENCH_DB=imagegen_pickup JAVA_OPTS PG* OUT=benchmarks/pickup/results/runs.tsv
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/benchmarks/pickup

RUNS=${RUNS:-3}
WARMUP=${WARMUP:-400}
WARMUP_INTERVAL=${WARMUP_INTERVAL:-0.12}
SETTLE=${SETTLE:-5}
SAMPLES=${SAMPLES:-300}
INTERVAL=${INTERVAL:-0.2}
MODE=${MODE:-webhook}
DELAY_MS=${DELAY_MS:-500}
PORT=${PORT:-18095}
FAKE_PORT=${FAKE_PORT:-18096}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
BENCH_DB=${BENCH_DB:-imagegen_pickup}
SECRET=bench-secret-bench-secret-bench-secret-0123456789
mkdir -p "$HERE/results"
OUT=${OUT:-$HERE/results/runs.tsv}
[[ "$BENCH_DB" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "BENCH_DB must be a plain identifier" >&2; exit 1; }
[[ $MODE == webhook || $MODE == polling ]] || { echo "MODE is webhook or polling" >&2; exit 1; }

APP_PID= FAKE_PID= IMAGES_DIR=
stop() { # pid
    local pid=$1
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
}
cleanup() {
    stop "$APP_PID"; stop "$FAKE_PID"
    APP_PID= FAKE_PID=
    psql -qX -d postgres -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null 2>&1 || true
    [[ -n "$IMAGES_DIR" ]] && rm -rf "$IMAGES_DIR"
    IMAGES_DIR=
}
trap cleanup EXIT INT TERM

[[ -f target/quarkus-app/quarkus-run.jar && -d target/classes/dev/imagegen/simulator ]] || ./mvnw -B -q package -DskipTests
TOKEN=$(python3 "$ROOT/benchmarks/enqueue/mint_token.py" "$SECRET" pickup-user 7200)
run_seconds=$(python3 -c "print(int($WARMUP * $WARMUP_INTERVAL + $SETTLE + $SAMPLES * $INTERVAL) + 121)")

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

wait_http() { # url pid what
    for i in $(seq 1 240); do
        curl -fs -o /dev/null "$1" && return 0
        kill -0 "$2" 2>/dev/null || { echo "$3 exited" >&2; return 1; }
        sleep 0.5
    done
    echo "$3 did not answer in 120 s" >&2
    return 1
}

for run in $(seq 1 "$RUNS"); do
    STAMP=$(date -u +%Y%m%dT%H%M%SZ)
    BASE=$HERE/results/$STAMP-$MODE
    pg -qX -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB"
    IMAGES_DIR=$(mktemp -d /tmp/pickup-images.XXXXXX)
    WHSEC=whsec_$(python3 -c 'import base64,os;print(base64.b64encode(os.urandom(24)).decode())')

    java -Xmx256m -cp "target/classes:target/quarkus-app/lib/main/*:target/quarkus-app/lib/boot/*" \
        "$HERE/FakeReplicateServer.java" "$FAKE_PORT" "$DELAY_MS" $(( run_seconds + 300 )) "$BASE.creates.tsv" "$WHSEC" \
        >"$BASE.fake.log" 2>&1 &
    FAKE_PID=$!
    # The fake answers 404 on /, which is enough to know it listens.
    for i in $(seq 1 240); do
        curl -s -o /dev/null "http://127.0.0.1:$FAKE_PORT/" && break
        kill -0 "$FAKE_PID" 2>/dev/null || { echo "the fake exited; log: $BASE.fake.log" >&2; exit 1; }
        [[ $i == 240 ]] && { echo "the fake did not listen in 120 s" >&2; exit 1; }
        sleep 0.5
    done

    WEBHOOK_ENV=()
    [[ $MODE == webhook ]] && WEBHOOK_ENV=(IMAGEGEN_REPLICATE_WEBHOOK_SECRET="$WHSEC")
    env "${WEBHOOK_ENV[@]}" \
    QUARKUS_HTTP_PORT=$PORT \
    QUARKUS_DATASOURCE_JDBC_URL="jdbc:postgresql://$PGHOST:$PGPORT/$BENCH_DB" \
    QUARKUS_DATASOURCE_REACTIVE_URL="postgresql://$PGHOST:$PGPORT/$BENCH_DB" \
    QUARKUS_DATASOURCE_USERNAME=$PGUSER \
    IMAGEGEN_AUTH_JWT_SECRET=$SECRET \
    REPLICATE_API_TOKEN=bench \
    IMAGEGEN_PUBLIC_BASE_URL=http://127.0.0.1:$PORT \
    IMAGEGEN_REPLICATE_BASE_URL=http://127.0.0.1:$FAKE_PORT \
    IMAGEGEN_REPLICATE_ALLOWED_OUTPUT_HOSTS=127.0.0.1 \
    IMAGEGEN_LIMITS_ENQUEUE_PER_MINUTE=0 \
    IMAGEGEN_LIMITS_MAX_ACTIVE_PER_USER=0 \
    IMAGEGEN_STORAGE_DIR=$IMAGES_DIR \
        java -Xmx256m ${JAVA_OPTS:-} -jar target/quarkus-app/quarkus-run.jar >"$BASE.app.log" 2>&1 &
    APP_PID=$!
    wait_http "http://127.0.0.1:$PORT/q/health/ready" "$APP_PID" "the service (log: $BASE.app.log)"

    timeout "$run_seconds" python3 "$HERE/client.py" 127.0.0.1 "$PORT" "$TOKEN" "$run" \
        0 "$WARMUP" "$WARMUP_INTERVAL" 1 "$BASE.samples.tsv"
    # The warm-up's backlog gone: every warm-up create arrived at the fake and nothing is pending (at most 120 s).
    for i in $(seq 1 240); do
        created=$(wc -l <"$BASE.creates.tsv")
        pending=$(pg -qAtX -d "$BENCH_DB" -c "SELECT count(*) FROM job_queue WHERE status = 'pending'")
        (( created >= WARMUP && pending == 0 )) && break
        [[ $i == 240 ]] && { echo "the warm-up's backlog did not drain in 120 s ($created created, $pending pending)" >&2; exit 1; }
        sleep 0.5
    done
    sleep "$SETTLE"
    load=$(cut -d' ' -f1 /proc/loadavg)
    timeout "$run_seconds" python3 "$HERE/client.py" 127.0.0.1 "$PORT" "$TOKEN" "$run" \
        "$WARMUP" "$SAMPLES" "$INTERVAL" 0 "$BASE.samples.tsv"
    sleep 2   # the last create reaches the fake
    load_end=$(cut -d' ' -f1 /proc/loadavg)
    done_jobs=$(pg -qAtX -d "$BENCH_DB" -c "SELECT count(*) FILTER (WHERE status = 'completed') || '/' || count(*) FROM job_queue")
    # Where the time goes, from the database's own clocks: the enqueue's and the claim's transaction starts
    # (image_generations.created_at, job_queue.started_at, both now() of their statement's transaction).
    pg -qAtX -F $'\t' -d "$BENCH_DB" -c "
        SELECT substring(g.prompt from '(pickup-[0-9]+-[0-9]+)\$'),
               (extract(epoch FROM g.created_at) * 1e6)::bigint, (extract(epoch FROM j.started_at) * 1e6)::bigint
          FROM image_generations g JOIN job_queue j ON j.generation_id = g.id" >"$BASE.db.tsv"
    result=$(python3 "$HERE/analyze.py" "$BASE.samples.tsv" "$BASE.creates.tsv" "$BASE.db.tsv")
    line="stamp=$STAMP run=$run mode=$MODE interval_s=$INTERVAL delay_ms=$DELAY_MS $result jobs_completed=$done_jobs load1_start=$load load1_end=$load_end"
    echo "$line"
    python3 - "$OUT" "$line" <<'PY'
import os, sys
out, line = sys.argv[1], sys.argv[2]
kv = dict(p.split("=", 1) for p in line.split())
new = not os.path.exists(out)
with open(out, "a") as o:
    if new:
        o.write("\t".join(kv) + "\n")
    o.write("\t".join(kv.values()) + "\n")
PY
    cleanup
done
python3 - "$OUT" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
for mode in sorted({r["mode"] for r in rows}):
    rs = [r for r in rows if r["mode"] == mode]
    def span(k):
        xs = [float(r[k]) for r in rs]
        return f"{statistics.median(xs):.2f} ({min(xs):.2f}–{max(xs):.2f})"
    print(f"{mode}: {len(rs)} runs; pickup p50 {span('pickup_p50_ms')} ms, p99 {span('pickup_p99_ms')} ms; "
          f"answer p50 {span('answer_p50_ms')} ms")
PY
