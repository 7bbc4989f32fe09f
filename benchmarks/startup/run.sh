#!/usr/bin/env bash
# Start-up (process start -> /q/health/ready answers 200; wall clock, and the process's CPU time until then, which
# other tenants of a shared machine inflate much less) and resident memory (VmRSS) of the packaged service
# in JVM mode, for several JVM/flag variants, RUNS times each, interleaved. Each start is bounded (60 s) and
# stopped by its PID; a scratch database is created and dropped. The AOT variant trains its cache first with
# src/main/docker/aot-train.sh (as Dockerfile.jvm does) in a copy of target/quarkus-app.
#
# usage: benchmarks/startup/run.sh        knobs: RUNS=3 IDLE_SECONDS=20 JDK25=/usr/lib/jvm/temurin-25-jdk-amd64
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
RUNS=${RUNS:-3}
IDLE_SECONDS=${IDLE_SECONDS:-20}
JDK25=${JDK25:-/usr/lib/jvm/temurin-25-jdk-amd64}
PORT=${PORT:-18093}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
BENCH_DB=imagegen_startup
mkdir -p benchmarks/startup/results
OUT=${OUT:-benchmarks/startup/results/$(date -u +%Y%m%dT%H%M%SZ).tsv}
WORK=$(mktemp -d /tmp/startup-bench.XXXXXX)
APP_PID=
cleanup() {
    if [[ -n "$APP_PID" ]] && kill -0 "$APP_PID" 2>/dev/null; then
        kill "$APP_PID"; for _ in $(seq 1 40); do kill -0 "$APP_PID" 2>/dev/null || break; sleep 0.5; done
        kill -9 "$APP_PID" 2>/dev/null || true
    fi
    psql -qX -d postgres -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null 2>&1 || true
    cp "$WORK"/*.log benchmarks/startup/results/ 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
[[ -f target/quarkus-app/quarkus-run.jar ]] || ./mvnw -B -q package -DskipTests
cp -r target/quarkus-app "$WORK/app"
psql -qX -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB"

TUNED="-Xmx128m -XX:+UseSerialGC -Xss512k -XX:ReservedCodeCacheSize=64m -XX:MaxMetaspaceSize=128m -XX:MaxDirectMemorySize=64m"
# lean: also a small initial heap given back when free, C1 only (less compiler memory and CPU), smaller Netty chunks
LEAN="-Xmx128m -Xms16m -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30 -XX:+UseSerialGC -Xss256k -XX:ReservedCodeCacheSize=32m -XX:TieredStopAtLevel=1 -XX:MaxMetaspaceSize=128m -XX:MaxDirectMemorySize=32m -Dio.netty.allocator.maxOrder=7"
declare -A JAVA=( [jdk17-default]=java [jdk17-tuned]=java [jdk25-tuned]=$JDK25/bin/java [jdk25-tuned-aot]=$JDK25/bin/java
                  [jdk17-lean]=java [jdk25-lean]=$JDK25/bin/java [jdk25-lean-aot]=$JDK25/bin/java )
declare -A OPTS=( [jdk17-default]="-Xmx128m" [jdk17-tuned]="$TUNED" [jdk25-tuned]="$TUNED" [jdk25-tuned-aot]="$TUNED -XX:AOTCache=$WORK/app/app.aot"
                  [jdk17-lean]="$LEAN" [jdk25-lean]="$LEAN" [jdk25-lean-aot]="$LEAN -XX:AOTCache=$WORK/app/app.aot" )
declare -A ARENA=( [jdk17-default]="" [jdk17-tuned]=2 [jdk25-tuned]=2 [jdk25-tuned-aot]=2 [jdk17-lean]=2 [jdk25-lean]=2 [jdk25-lean-aot]=2 )
VARIANTS=${VARIANTS:-"jdk17-default jdk17-tuned jdk25-tuned jdk25-tuned-aot"}

if [[ $VARIANTS == *aot* ]]; then
    t0=$(date +%s%N)
    bash src/main/docker/aot-train.sh "$JDK25/bin/java" "$WORK/app" "$WORK/app/app.aot" >"$WORK/train.log" 2>&1
    echo "AOT cache trained in $(( ($(date +%s%N) - t0) / 1000000 )) ms: $(stat -c %s "$WORK/app/app.aot") bytes"
fi

start() { # variant -> "ready_ms"
    local v=$1
    ( cd "$WORK/app"
      exec env ${ARENA[$v]:+MALLOC_ARENA_MAX=${ARENA[$v]}} \
      QUARKUS_HTTP_PORT=$PORT \
      QUARKUS_DATASOURCE_JDBC_URL="jdbc:postgresql://$PGHOST:$PGPORT/$BENCH_DB" \
      QUARKUS_DATASOURCE_REACTIVE_URL="postgresql://$PGHOST:$PGPORT/$BENCH_DB" \
      QUARKUS_DATASOURCE_USERNAME=$PGUSER \
      IMAGEGEN_AUTH_JWT_SECRET=bench-secret-bench-secret-bench-secret-0123456789 \
      REPLICATE_API_TOKEN=bench IMAGEGEN_REPLICATE_BASE_URL=http://127.0.0.1:9 \
      IMAGEGEN_STORAGE_DIR="$WORK/images" \
      "${JAVA[$v]}" ${OPTS[$v]} -jar quarkus-run.jar ) >"$WORK/$v.log" 2>&1 &
    APP_PID=$!
}

# One start first (not recorded): Flyway creates the schema.
t0=$(date +%s%N); start jdk17-default
for _ in $(seq 1 600); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/q/health/ready" && break; sleep 0.1; done
kill "$APP_PID"; wait "$APP_PID" 2>/dev/null || true; APP_PID=

[[ -f $OUT ]] || echo -e "variant\trun\tready_ms\tcpu_ms_to_ready\tidle_rss_mb\tload1" >"$OUT"
for r in $(seq 1 "$RUNS"); do
    for v in $VARIANTS; do
        load=$(cut -d' ' -f1 /proc/loadavg)
        t0=$(date +%s%N); start "$v"
        ready=
        for _ in $(seq 1 3000); do
            if curl -fs -o /dev/null "http://127.0.0.1:$PORT/q/health/ready"; then
                ready=$(( ($(date +%s%N) - t0) / 1000000 ))
                cpu=$(awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%d", ($12 + $13) * 1000 / hz }' "/proc/$APP_PID/stat")
                break
            fi
            kill -0 "$APP_PID" 2>/dev/null || break
            sleep 0.02
        done
        [[ -n "$ready" ]] || { echo "$v did not become ready; log:" >&2; tail -20 "$WORK/$v.log" >&2; exit 1; }
        sleep "$IDLE_SECONDS"
        rss=$(awk '/^VmRSS/ {printf "%d", $2/1024}' "/proc/$APP_PID/status")
        kill "$APP_PID"; wait "$APP_PID" 2>/dev/null || true; APP_PID=
        echo -e "$v\t$r\t$ready\t$cpu\t$rss\t$load" | tee -a "$OUT"
    done
done
