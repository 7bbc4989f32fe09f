#!/usr/bin/env bash
# One bounded run of the whole worker pipeline against a standalone Replicate fake: predictions in flight,
# completed jobs per hour, creates answered 429, and the service's CPU per completed generation.
#
# Starts benchmarks/inflight/FakeReplicateServer.java (the project's ReplicateSimulator on its own port, with a
# token-bucket limit on creates) and the packaged service (prod profile, worker on) against a scratch
# database seeded with JOBS pending generate_image jobs (100 users, 256×256, one output), samples every
# second for DURATION seconds, prints one result line, appends it to OUT, and stops both processes by PID and
# drops the database (also on failure or Ctrl-C).
#
# usage: benchmarks/inflight/run.sh
# knobs (environment): MODE=webhook|polling SLOTS=1024 DELAY_MS=30000 CREATES_PER_MINUTE=0 (fake's limit; 0 = off)
#   CLIENT_CREATES_PER_MINUTE (service's pacing; default = the fake's limit, or 0 when that is off)
#   DURATION=150 WARMUP=60 (seconds; figures are taken over [WARMUP, DURATION]) JOBS (default: enough not to drain)
#   XMX=256m JAVA_OPTS PREFER_WAIT=5 PORT=18091 FAKE_PORT=18092 BENCH_DB=imagegen_inflight
#   OUT=benchmarks/inflight/results/runs.tsv
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/benchmarks/inflight

MODE=${MODE:-webhook}
SLOTS=${SLOTS:-1024}
DELAY_MS=${DELAY_MS:-30000}
CREATES_PER_MINUTE=${CREATES_PER_MINUTE:-0}
CLIENT_CREATES_PER_MINUTE=${CLIENT_CREATES_PER_MINUTE:-$CREATES_PER_MINUTE}
DURATION=${DURATION:-150}
WARMUP=${WARMUP:-60}
XMX=${XMX:-256m}
PREFER_WAIT=${PREFER_WAIT:-5}
PORT=${PORT:-18091}
FAKE_PORT=${FAKE_PORT:-18092}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
BENCH_DB=${BENCH_DB:-imagegen_inflight}
mkdir -p "$HERE/results"
OUT=${OUT:-$HERE/results/runs.tsv}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
LOG=$HERE/results/$STAMP-$MODE.app.log
FAKE_STATS=$(mktemp /tmp/inflight-fake.XXXXXX)
SAMPLES=$HERE/results/$STAMP-$MODE.samples.tsv
if [[ -z "${JOBS:-}" ]]; then
    if [[ $DELAY_MS -ge 1000 ]]; then
        JOBS=$(( SLOTS + SLOTS * DURATION * 1000 / DELAY_MS * 12 / 10 + 1000 ))
    else
        JOBS=40000
    fi
fi
[[ "$BENCH_DB" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "BENCH_DB must be a plain identifier" >&2; exit 1; }

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
    psql -qX -d postgres -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null 2>&1 || true
    [[ -n "$IMAGES_DIR" ]] && rm -rf "$IMAGES_DIR"
    rm -f "$FAKE_STATS"
}
trap cleanup EXIT INT TERM

[[ -f target/quarkus-app/quarkus-run.jar && -d target/classes/dev/imagegen/simulator ]] || ./mvnw -B -q package -DskipTests

psql -qX -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB"
IMAGES_DIR=$(mktemp -d /tmp/inflight-images.XXXXXX)
WHSEC=whsec_$(python3 -c 'import base64,os;print(base64.b64encode(os.urandom(24)).decode())')

java -Xmx256m -cp "target/classes:target/quarkus-app/lib/main/*:target/quarkus-app/lib/boot/*" "$HERE/FakeReplicateServer.java" \
    "$FAKE_PORT" "$DELAY_MS" "$CREATES_PER_MINUTE" $(( DURATION + 120 )) "$FAKE_STATS" "$WHSEC" \
    >"$LOG.fake" 2>&1 &
FAKE_PID=$!

for i in $(seq 1 120); do
    curl -s -o /dev/null "http://127.0.0.1:$FAKE_PORT/" && break
    kill -0 "$FAKE_PID" 2>/dev/null || { echo "the fake exited; log: $LOG.fake" >&2; tail -20 "$LOG.fake" >&2; exit 1; }
    [[ $i == 120 ]] && { echo "the fake did not listen in 60 s" >&2; exit 1; }
    sleep 0.5
done

WEBHOOK_ENV=()
[[ $MODE == webhook ]] && WEBHOOK_ENV=(IMAGEGEN_REPLICATE_WEBHOOK_SECRET="$WHSEC")
env "${WEBHOOK_ENV[@]}" \
QUARKUS_HTTP_PORT=$PORT \
QUARKUS_DATASOURCE_JDBC_URL="jdbc:postgresql://$PGHOST:$PGPORT/$BENCH_DB" \
QUARKUS_DATASOURCE_REACTIVE_URL="postgresql://$PGHOST:$PGPORT/$BENCH_DB" \
QUARKUS_DATASOURCE_USERNAME=$PGUSER \
IMAGEGEN_AUTH_JWT_SECRET=bench-secret-bench-secret-bench-secret-0123456789 \
REPLICATE_API_TOKEN=bench \
IMAGEGEN_PUBLIC_BASE_URL=http://127.0.0.1:$PORT \
IMAGEGEN_REPLICATE_BASE_URL=http://127.0.0.1:$FAKE_PORT \
IMAGEGEN_REPLICATE_ALLOWED_OUTPUT_HOSTS=127.0.0.1 \
IMAGEGEN_REPLICATE_PREFER_WAIT_SECONDS=$PREFER_WAIT \
IMAGEGEN_REPLICATE_CREATES_PER_MINUTE=$CLIENT_CREATES_PER_MINUTE \
IMAGEGEN_WORKER_MAX_PARALLEL_JOBS=$SLOTS \
IMAGEGEN_LIMITS_ENQUEUE_PER_MINUTE=0 \
IMAGEGEN_LIMITS_MAX_ACTIVE_PER_USER=0 \
IMAGEGEN_STORAGE_DIR=$IMAGES_DIR \
    java -Xmx"$XMX" ${JAVA_OPTS:-} -jar target/quarkus-app/quarkus-run.jar >"$LOG" 2>&1 &
APP_PID=$!

for i in $(seq 1 120); do
    curl -fs -o /dev/null "http://127.0.0.1:$PORT/q/health/ready" && break
    kill -0 "$APP_PID" 2>/dev/null || { echo "the service exited; log: $LOG" >&2; tail -20 "$LOG" >&2; exit 1; }
    [[ $i == 120 ]] && { echo "the service did not become ready in 60 s; log: $LOG" >&2; exit 1; }
    sleep 0.5
done

# The backlog, as the enqueue statement writes it (the quota triggers keep user_quota right).
psql -qX -v ON_ERROR_STOP=1 -d "$BENCH_DB" <<SQL
WITH g AS (
    INSERT INTO image_generations (user_id, prompt, model_id, parameters, status)
    SELECT 'bench-user-' || (n % 100), 'bench ' || n, 'black-forest-labs/flux-schnell',
           '{"width":256,"height":256,"num_outputs":1}', 'queued'
      FROM generate_series(1, $JOBS) n
    RETURNING id)
INSERT INTO job_queue (job_type, payload, generation_id)
SELECT 'generate_image', jsonb_build_object('generation_id', g.id), g.id FROM g;
SELECT pg_notify('imagegen_jobs', '');
SQL

HZ=$(getconf CLK_TCK)
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/${1:-$APP_PID}/stat"; }
completed() { psql -qAtX -d "$BENCH_DB" -c "SELECT count(*) FROM job_queue WHERE status = 'completed'"; }
echo -e "t\tcompleted\tcpu_ticks\tthreads\trss_kb\tconns_to_fake\tload1\tfake_cpu_ticks" >"$SAMPLES"
T0=$(date +%s)
for t in $(seq 0 "$DURATION"); do
    while (( $(date +%s) - T0 < t )); do sleep 0.1; done
    kill -0 "$APP_PID" 2>/dev/null || { echo "the service died; log: $LOG" >&2; exit 1; }
    if (( t % 5 == 0 )) || (( t == WARMUP )) || (( t == DURATION )); then c=$(completed); else c=; fi
    echo -e "$t\t$c\t$(cpu_ticks)\t$(awk '/^Threads/ {print $2}' /proc/$APP_PID/status)\t$(awk '/^VmRSS/ {print $2}' /proc/$APP_PID/status)\t$(ss -Htn state established "( dport = :$FAKE_PORT )" | wc -l)\t$(cut -d' ' -f1 /proc/loadavg)\t$(cpu_ticks "$FAKE_PID")" >>"$SAMPLES"
done
cp "$FAKE_STATS" "${SAMPLES%.samples.tsv}.fake.tsv"

python3 - "$SAMPLES" "$FAKE_STATS" "$WARMUP" "$DURATION" "$HZ" "$OUT" "$STAMP" "$MODE" "$SLOTS" "$DELAY_MS" \
    "$CREATES_PER_MINUTE" "$CLIENT_CREATES_PER_MINUTE" "$XMX" "$JOBS" <<'PY'
import csv, os, statistics, sys
samples, fake, warm, dur, hz, out, stamp, mode, slots, delay, cpm, ccpm, xmx, jobs = sys.argv[1:]
warm, dur, hz = int(warm), int(dur), int(hz)
rows = list(csv.DictReader(open(samples), delimiter='\t'))
at = {int(r['t']): r for r in rows}
a, b = at[warm], at[dur]
done = int(b['completed']) - int(a['completed'])
secs = dur - warm
cpu_ms = (int(b['cpu_ticks']) - int(a['cpu_ticks'])) * 1000 / hz
f = list(csv.DictReader(open(fake), delimiter='\t'))
t0 = int(f[0]['unix_ms'])
# the fake's rows are one a second from its start, which came a few seconds before the service's t=0
window = [r for r in f if int(r['creates']) > 0]
run = [int(r['running']) for r in f]
cre = int(f[-1]['creates']); rej = int(f[-1]['creates_429'])
steady = [int(r['running']) for r in f[-(secs):]] if secs > 0 else run
res = {
    'stamp': stamp, 'mode': mode, 'slots': slots, 'delay_ms': delay, 'fake_creates_per_min': cpm,
    'client_creates_per_min': ccpm, 'xmx': xmx, 'jobs_seeded': jobs,
    'max_in_flight': max(run), 'median_in_flight_last_window': int(statistics.median(steady)),
    'completed_in_window': done, 'window_s': secs, 'jobs_per_hour': round(done * 3600 / secs),
    'creates': cre, 'creates_429': rej, 'pct_429': round(100 * rej / max(1, cre + rej), 3),
    'cpu_ms_per_job': round(cpu_ms / max(1, done), 3),
    'fake_cpu_ms_per_job': round((int(b['fake_cpu_ticks']) - int(a['fake_cpu_ticks'])) * 1000 / hz / max(1, done), 3),
    'max_threads': max(int(r['threads']) for r in rows), 'max_rss_mb': round(max(int(r['rss_kb']) for r in rows) / 1024),
    'max_conns_to_fake': max(int(r['conns_to_fake']) for r in rows),
    'load1_start': rows[0]['load1'], 'load1_max': max(float(r['load1']) for r in rows),
}
new = not os.path.exists(out)
with open(out, 'a') as o:
    if new:
        o.write('\t'.join(res) + '\n')
    o.write('\t'.join(str(v) for v in res.values()) + '\n')
print(' '.join(f'{k}={v}' for k, v in res.items()))
PY
