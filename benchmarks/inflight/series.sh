#!/usr/bin/env bash
# The series of runs behind BENCHMARKS.md section 6: RUNS (3) runs of each variant, interleaved, one at a time.
# Each run is benchmarks/inflight/run.sh (bounded: DURATION + start-up, stops what it started by PID).
# usage: benchmarks/inflight/series.sh [cap|limits|instant|all]
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-3}
OUT=${OUT:-benchmarks/inflight/results/runs.tsv}
export OUT
what=${1:-all}
for r in $(seq 1 "$RUNS"); do
    if [[ $what == cap || $what == all ]]; then
        # in-flight cap: 30 s predictions, the fake's limits off, 1024 slots
        MODE=webhook SLOTS=1024 DELAY_MS=30000 CREATES_PER_MINUTE=0 DURATION=130 WARMUP=70 benchmarks/inflight/run.sh
    fi
    if [[ $what == limits || $what == all ]]; then
        # Replicate's real create limit at the fake (600/min), the service pacing at the same figure
        for mode in webhook polling; do
            MODE=$mode SLOTS=512 DELAY_MS=30000 CREATES_PER_MINUTE=600 DURATION=130 WARMUP=70 benchmarks/inflight/run.sh
        done
    fi
    if [[ $what == instant || $what == all ]]; then
        # CPU per generation: instant predictions (Prefer: wait answers them finished), 64 slots
        MODE=webhook SLOTS=64 DELAY_MS=0 CREATES_PER_MINUTE=0 DURATION=90 WARMUP=45 JOBS=40000 benchmarks/inflight/run.sh
    fi
done
