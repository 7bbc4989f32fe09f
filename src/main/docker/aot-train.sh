#!/bin/bash
# Training run for the JDK's ahead-of-time cache (JEP 483/514, JDK 25): starts the packaged application
# once with -XX:AOTCacheOutput, lets it start completely and answer a few requests, stops it with SIGTERM,
# and leaves the cache the JVM writes at exit. No database is needed: Flyway is off for the run and the
# datasource URLs point at a closed port (the pools are lazy; the LISTEN connection only retries).
# Later runs start with -XX:AOTCache=<file>: same JDK build, same class path (run from the same directory).
#
# usage: aot-train.sh JAVA APP_DIR CACHE_FILE      (bounded: gives up after 120 s)
set -euo pipefail
JAVA=$1 APP_DIR=$2 CACHE=$3
PORT=${AOT_TRAIN_PORT:-18099}
cd "$APP_DIR"
QUARKUS_HTTP_PORT=$PORT \
QUARKUS_FLYWAY_MIGRATE_AT_START=false \
QUARKUS_DATASOURCE_REACTIVE_URL=postgresql://127.0.0.1:9/aot \
QUARKUS_DATASOURCE_JDBC_URL=jdbc:postgresql://127.0.0.1:9/aot \
QUARKUS_DATASOURCE_USERNAME=aot \
IMAGEGEN_AUTH_JWT_SECRET=aot-training-only-aot-training-only-0123456789 \
REPLICATE_API_TOKEN=aot-training-only \
IMAGEGEN_WORKER_ENABLED=false \
    "$JAVA" -XX:AOTCacheOutput="$CACHE" -Xlog:aot=error -jar quarkus-run.jar &
pid=$!
get() { # path: one HTTP/1.0 GET over bash's /dev/tcp, answer discarded
    exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
    printf 'GET %s HTTP/1.0\r\nHost: localhost\r\nAuthorization: Bearer not-a-token\r\n\r\n' "$1" >&3
    cat <&3 >/dev/null || true
    exec 3<&-
}
up=0
for _ in $(seq 1 240); do
    if get /q/health/live 2>/dev/null; then up=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
done
if [[ $up == 1 ]]; then
    for _ in 1 2 3; do
        for path in /q/health/live /q/openapi /v1/generations /v1/generations/00000000-0000-0000-0000-000000000000 /; do
            get "$path" || true
        done
    done
fi
kill -TERM "$pid" 2>/dev/null || true
wait "$pid" || true
[[ $up == 1 && -s $CACHE ]] || { echo "AOT training failed (started: $up)" >&2; exit 1; }
