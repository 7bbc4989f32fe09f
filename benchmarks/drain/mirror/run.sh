#!/usr/bin/env bash
# The cost of V4's status-mirroring trigger, server side only (no JVM in the loop): claim one job + complete it,
# with (a) the statements before V4 (a CTE per statement moving the generation, cte.pgbench) on a database
# migrated to V3, and (b) the statements from V4 (job_queue only, trigger.pgbench) on a database migrated to V4.
# Both databases hold the same backlog (JOBS jobs, each with its generation); the two variants alternate, RUNS
# times, CLIENTS pgbench clients for SECONDS each. Prints jobs/s per run and variant, and drops both databases.
#
# usage: benchmarks/drain/mirror/run.sh   knobs: RUNS=3 SECONDS_EACH=10 CLIENTS=8 JOBS=100000
set -euo pipefail
cd "$(dirname "$0")/../../.."
HERE=benchmarks/drain/mirror
MIG=src/main/resources/db/migration
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
RUNS=${RUNS:-3} SECONDS_EACH=${SECONDS_EACH:-10} CLIENTS=${CLIENTS:-8} JOBS=${JOBS:-100000}
DBS="imagegen_mirror_cte imagegen_mirror_trigger"
cleanup() { for db in $DBS; do psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; done; }
trap cleanup EXIT INT TERM
setup() { # db migrations...
    local db=$1; shift
    psql -qX -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
    for f in "$@"; do psql -qX -v ON_ERROR_STOP=1 -d "$db" -f "$f" >/dev/null; done
}
reseed() {
    psql -qX -v ON_ERROR_STOP=1 -d "$1" -c "TRUNCATE job_queue, image_generations, user_quota CASCADE" -c "
        WITH s AS (SELECT i, gen_random_uuid() AS gid FROM generate_series(1, $JOBS) AS i),
        g AS (INSERT INTO image_generations (id, user_id, prompt, model_id, parameters, status)
              SELECT gid, 'bench-' || (i % 100), 'bench', 'bench/noop', '{}', 'queued' FROM s)
        INSERT INTO job_queue (job_type, payload, run_at, fair_rank, generation_id)
        SELECT 'noop', '{}', now() - interval '1 hour', (i - 1) / 100, gid FROM s" \
        -c "VACUUM ANALYZE" -c "CHECKPOINT"
}
setup imagegen_mirror_cte $MIG/V1__*.sql $MIG/V2__*.sql $MIG/V3__*.sql
setup imagegen_mirror_trigger $MIG/V1__*.sql $MIG/V2__*.sql $MIG/V3__*.sql $MIG/V4__*.sql
echo "# $(date -u +%FT%TZ) $(nproc) CPUs; ${CLIENTS} clients, ${SECONDS_EACH}s per run"
printf 'run\tvariant\tjobs_per_s\tfailed\tcompleted_generations\tloadavg\n'
for run in $(seq 1 "$RUNS"); do
    order="cte trigger"; (( run % 2 == 0 )) && order="trigger cte"
    for v in $order; do
        db=imagegen_mirror_$v
        reseed "$db"
        load=$(cut -d' ' -f1 /proc/loadavg)
        out=$(timeout $((SECONDS_EACH + 60)) pgbench -n -M prepared -c "$CLIENTS" -j 2 -T "$SECONDS_EACH" -f "$HERE/$v.pgbench" "$db" 2>&1)
        tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' <<<"$out")
        failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
        gens=$(psql -qAtX -d "$db" -c "SELECT count(*) FROM image_generations WHERE status = 'completed'")
        [[ -n "$tps" ]] || { echo "$out" >&2; exit 1; }
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$v" "$tps" "${failed:-?}" "$gens" "$load"
    done
done
