#!/usr/bin/env bash
# Resident memory of the packaged service (JVM mode, the lean flags of Dockerfile.jvm, -Xmx128m) while it streams
# 32 outputs of 50 MB at once: idle RSS, peak RSS (VmRSS sampled, and the kernel's own VmHWM), and heap used.
#
# Starts benchmarks/streams/FakeReplicateServer.java (the project's simulator; each output file is its PNG padded
# with zeros to OUTPUT_BYTES) and the service (prod profile, polling mode, filesystem storage in a temporary
# folder, SLOTS worker slots) against a scratch database; waits IDLE_SECONDS and reads the idle RSS; then ROUNDS
# times inserts STREAMS jobs in one statement (all created at once, all finished DELAY_MS later, so their
# downloads run together) and waits for them to complete (at most ROUND_TIMEOUT s each), deleting the stored
# files between rounds. VmRSS/VmHWM are read every SAMPLE_MS and heap used by `jstat -gc` every SAMPLE_MS.
# With NMT=1 the JVM tracks native memory and `jcmd VM.native_memory summary` is taken idle and mid-round.
# Everything it started is stopped by PID and the database dropped, also on failure or Ctrl-C.
#
# usage: benchmarks/streams/run.sh     knobs: RUNS=1 ROUNDS=3 STREAMS=32 SLOTS=32 OUTPUT_BYTES=52428800 DELAY_MS=3000
#   IDLE_SECONDS=20 SAMPLE_MS=200 ROUND_TIMEOUT=150 JAVA=java JVM_FLAGS (default: the lean flags below) XMX=128m
#   NMT=0 PORT=19310 FAKE_PORT=19311 BENCH_DB=bench_heap_streams OUT=benchmarks/streams/results/runs.tsv
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/benchmarks/streams
RUNS=${RUNS:-1}
ROUNDS=${ROUNDS:-3}
STREAMS=${STREAMS:-32}
SLOTS=${SLOTS:-32}
OUTPUT_BYTES=${OUTPUT_BYTES:-52428800}
DELAY_MS=${DELAY_MS:-3000}
IDLE_SECONDS=${IDLE_SECONDS:-20}
SAMPLE_MS=${SAMPLE_MS:-200}
ROUND_TIMEOUT=${ROUND_TIMEOUT:-150}
JAVA=${JAVA:-java}
XMX=${XMX:-128m}
# The lean flags of BENCHMARKS.md section 7 (Dockerfile.jvm's, with -Xmx instead of MaxRAMPercentage, -Xss256k).
JVM_FLAGS=${JVM_FLAGS:-"-Xms16m -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30 -XX:+UseSerialGC -Xss256k -XX:ReservedCodeCacheSize=32m -XX:TieredStopAtLevel=1 -XX:MaxMetaspaceSize=128m -XX:MaxDirectMemorySize=32m -Dio.netty.allocator.maxOrder=7"}
MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2}
NMT=${NMT:-0}
PORT=${PORT:-19310}
FAKE_PORT=${FAKE_PORT:-19311}
BENCH_DB=${BENCH_DB:-bench_heap_streams}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
mkdir -p "$HERE/results"
OUT=${OUT:-$HERE/results/runs.tsv}
[[ "$BENCH_DB" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "BENCH_DB must be a plain identifier" >&2; exit 1; }
NMT_FLAG=
[[ $NMT == 1 ]] && NMT_FLAG=-XX:NativeMemoryTracking=summary

APP_PID= FAKE_PID= SAMPLER_PID= JSTAT_PID= IMAGES_DIR=
stop() { # pid
    local pid=$1
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
}
cleanup() {
    stop "$SAMPLER_PID"; stop "$JSTAT_PID"; stop "$APP_PID"; stop "$FAKE_PID"
    SAMPLER_PID= JSTAT_PID= APP_PID= FAKE_PID=
    psql -qX -d postgres -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null 2>&1 || true
    [[ -n "$IMAGES_DIR" ]] && rm -rf "$IMAGES_DIR"
    IMAGES_DIR=
}
trap cleanup EXIT INT TERM
# PostgreSQL is shared (max_connections): a refused connection is retried rather than ending the run.
q() { # sql -> one value
    local out
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        out=$(psql -qAtX -d "$BENCH_DB" -c "$1" 2>/dev/null) && { echo "$out"; return 0; }
        sleep 1
    done
    echo "psql failed 10 times: $1" >&2; return 1
}

[[ -f target/quarkus-app/quarkus-run.jar && -d target/classes/dev/imagegen/simulator ]] || ./mvnw -B -q package -DskipTests

one_run() {
    local stamp log samples heaplog fake_log
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    log=$HERE/results/$stamp.app.log
    fake_log=$HERE/results/$stamp.fake.log
    samples=$HERE/results/$stamp.rss.tsv
    heaplog=$HERE/results/$stamp.heap.txt
    local load_start; load_start=$(cut -d' ' -f1-3 /proc/loadavg)

    psql -qX -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB"
    IMAGES_DIR=$(mktemp -d /tmp/streams-images.XXXXXX)

    java -Xmx256m -cp "target/classes:target/quarkus-app/lib/main/*:target/quarkus-app/lib/boot/*" "$HERE/FakeReplicateServer.java" \
        "$FAKE_PORT" "$DELAY_MS" "$OUTPUT_BYTES" $(( IDLE_SECONDS + ROUNDS * ROUND_TIMEOUT + 180 )) >"$fake_log" 2>&1 &
    FAKE_PID=$!
    for i in $(seq 1 120); do
        curl -s -o /dev/null "http://127.0.0.1:$FAKE_PORT/" && break
        kill -0 "$FAKE_PID" 2>/dev/null || { echo "the fake exited; log: $fake_log" >&2; tail -20 "$fake_log" >&2; exit 1; }
        [[ $i == 120 ]] && { echo "the fake did not listen in 60 s" >&2; exit 1; }
        sleep 0.5
    done

    env MALLOC_ARENA_MAX="$MALLOC_ARENA_MAX" \
    QUARKUS_HTTP_PORT=$PORT \
    QUARKUS_DATASOURCE_JDBC_URL="jdbc:postgresql://$PGHOST:$PGPORT/$BENCH_DB" \
    QUARKUS_DATASOURCE_REACTIVE_URL="postgresql://$PGHOST:$PGPORT/$BENCH_DB" \
    QUARKUS_DATASOURCE_USERNAME=$PGUSER \
    IMAGEGEN_AUTH_JWT_SECRET=bench-secret-bench-secret-bench-secret-0123456789 \
    REPLICATE_API_TOKEN=bench \
    IMAGEGEN_PUBLIC_BASE_URL=http://127.0.0.1:$PORT \
    IMAGEGEN_REPLICATE_BASE_URL=http://127.0.0.1:$FAKE_PORT \
    IMAGEGEN_REPLICATE_ALLOWED_OUTPUT_HOSTS=127.0.0.1 \
    IMAGEGEN_REPLICATE_PREFER_WAIT_SECONDS=0 \
    IMAGEGEN_REPLICATE_CREATES_PER_MINUTE=0 \
    IMAGEGEN_WORKER_MAX_PARALLEL_JOBS=$SLOTS \
    IMAGEGEN_LIMITS_ENQUEUE_PER_MINUTE=0 \
    IMAGEGEN_LIMITS_MAX_ACTIVE_PER_USER=0 \
    IMAGEGEN_STORAGE_DIR=$IMAGES_DIR \
        "$JAVA" -Xmx"$XMX" $JVM_FLAGS $NMT_FLAG -jar target/quarkus-app/quarkus-run.jar >"$log" 2>&1 &
    APP_PID=$!
    for i in $(seq 1 240); do
        curl -fs -o /dev/null "http://127.0.0.1:$PORT/q/health/ready" && break
        kill -0 "$APP_PID" 2>/dev/null || { echo "the service exited; log: $log" >&2; tail -20 "$log" >&2; exit 1; }
        [[ $i == 240 ]] && { echo "the service did not become ready in 120 s; log: $log" >&2; exit 1; }
        sleep 0.5
    done

    # Samplers: VmRSS and VmHWM from /proc, heap used from jstat (S0U+S1U+EU+OU, KB), each every SAMPLE_MS.
    python3 - "$APP_PID" "$SAMPLE_MS" "$HERE/results/.phase-$stamp" >"$samples" 2>/dev/null <<'PY' &
import os, sys, time
pid, every, phase_file = sys.argv[1], int(sys.argv[2]) / 1000, sys.argv[3]
print('unix_ms\tphase\trss_kb\thwm_kb', flush=True)
while True:
    try:
        status = open(f'/proc/{pid}/status').read()
    except OSError:
        break
    fields = dict(l.split(':', 1) for l in status.splitlines() if ':' in l)
    try:
        phase = open(phase_file).read().strip()
    except OSError:
        phase = 'start'
    print(f"{int(time.time() * 1000)}\t{phase}\t{fields['VmRSS'].split()[0]}\t{fields['VmHWM'].split()[0]}", flush=True)
    time.sleep(every)
PY
    SAMPLER_PID=$!
    jstat -gc -t "$APP_PID" "$SAMPLE_MS" >"$heaplog" 2>&1 &
    JSTAT_PID=$!

    echo idle >"$HERE/results/.phase-$stamp"
    sleep "$IDLE_SECONDS"
    local idle_rss; idle_rss=$(awk '/^VmRSS/ {print $2}' /proc/$APP_PID/status)
    [[ $NMT == 1 ]] && jcmd "$APP_PID" VM.native_memory summary >"$HERE/results/$stamp.nmt-idle.txt" 2>&1
    local round_secs=()
    for r in $(seq 1 "$ROUNDS"); do
        echo "round$r" >"$HERE/results/.phase-$stamp"
        local t0; t0=$(date +%s%3N)
        psql -qX -v ON_ERROR_STOP=1 -d "$BENCH_DB" >/dev/null <<SQL
WITH g AS (
    INSERT INTO image_generations (user_id, prompt, model_id, parameters, status)
    SELECT 'stream-user-' || n, 'stream $r ' || n, 'black-forest-labs/flux-schnell',
           '{"width":256,"height":256,"num_outputs":1}', 'queued'
      FROM generate_series(1, $STREAMS) n
    RETURNING id)
INSERT INTO job_queue (job_type, payload, generation_id)
SELECT 'generate_image', jsonb_build_object('generation_id', g.id), g.id FROM g;
SELECT pg_notify('imagegen_jobs', '');
SQL
        local nmt_taken=0 done=0
        while (( $(date +%s%3N) - t0 < ROUND_TIMEOUT * 1000 )); do
            kill -0 "$APP_PID" 2>/dev/null || { echo "the service died; log: $log" >&2; exit 1; }
            done=$(q "SELECT count(*) FILTER (WHERE status IN ('completed','failed')) FROM job_queue")
            if [[ $NMT == 1 && $nmt_taken == 0 && $r == 1 ]] \
                && (( $(q "SELECT count(*) FROM image_generations WHERE status = 'downloading'") >= STREAMS / 2 )); then
                jcmd "$APP_PID" VM.native_memory summary >"$HERE/results/$stamp.nmt-streaming.txt" 2>&1; nmt_taken=1
            fi
            (( done >= r * STREAMS )) && break
            sleep 1
        done
        round_secs+=( $(( ($(date +%s%3N) - t0) )) )
        (( done >= r * STREAMS )) || echo "round $r: only $done of $(( r * STREAMS )) jobs finished in ${ROUND_TIMEOUT}s" >&2
        rm -rf "${IMAGES_DIR:?}"/generations
    done
    echo end >"$HERE/results/.phase-$stamp"
    sleep 1
    local hwm; hwm=$(awk '/^VmHWM/ {print $2}' /proc/$APP_PID/status)
    local failed completed bytes
    completed=$(q "SELECT count(*) FROM job_queue WHERE status = 'completed'")
    failed=$(q "SELECT count(*) FROM job_queue WHERE status = 'failed'")
    bytes=$(q "SELECT coalesce(min(size_bytes), 0) FROM images")
    local load_end; load_end=$(cut -d' ' -f1-3 /proc/loadavg)
    cleanup
    rm -f "$HERE/results/.phase-$stamp"

    python3 - "$samples" "$heaplog" "$OUT" "$stamp" "$idle_rss" "$hwm" "$completed" "$failed" "$bytes" "$ROUNDS" "$STREAMS" "$XMX" \
        "$NMT" "$load_start" "$load_end" "${round_secs[*]}" <<'PY'
import csv, os, sys
samples, heaplog, out, stamp, idle_rss, hwm, completed, failed, nbytes, rounds, streams, xmx, nmt, load_start, load_end, secs = sys.argv[1:]
rows = [r for r in csv.DictReader(open(samples), delimiter='\t') if r['rss_kb']]
busy = [r for r in rows if r['phase'].startswith('round')]
heap = []
for line in open(heaplog):
    f = line.split()
    if len(f) > 9 and f[0].replace('.', '', 1).isdigit():
        # -t: Timestamp S0C S1C S0U S1U EC EU OC OU ...
        heap.append((float(f[3]) + float(f[4]) + float(f[6]) + float(f[8])) / 1024)
res = {
    'stamp': stamp, 'streams': streams, 'rounds': rounds, 'xmx': xmx, 'nmt': nmt,
    'output_bytes': nbytes, 'completed': completed, 'failed': failed,
    'round_ms': secs.replace(' ', ','),
    'idle_rss_mb': round(int(idle_rss) / 1024, 1),
    'peak_rss_mb': round(max(int(r['rss_kb']) for r in busy) / 1024, 1) if busy else '',
    'vmhwm_mb': round(int(hwm) / 1024, 1),
    'heap_peak_mb': round(max(heap), 1) if heap else '',
    'samples': len(rows), 'heap_samples': len(heap),
    'load_start': load_start, 'load_end': load_end,
}
new = not os.path.exists(out)
with open(out, 'a') as o:
    if new:
        o.write('\t'.join(res) + '\n')
    o.write('\t'.join(str(v) for v in res.values()) + '\n')
print(' '.join(f'{k}={v}' for k, v in res.items()))
PY
}

for run in $(seq 1 "$RUNS"); do
    one_run
done
