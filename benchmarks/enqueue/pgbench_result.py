#!/usr/bin/env python3
"""Turns one pgbench run (its output on stdin, its -l per-transaction logs in LOG_DIR/seed_log*) into a RESULT
line in enqueue.lua's format, so that the seed's enqueue_job is reported exactly like the service's enqueue.

usage: pgbench ... -l --log-prefix=PREFIX ... | pgbench_result.py LOG_DIR [PREFIX]    (PREFIX: seed_log)
"""
import glob
import re
import sys

out = sys.stdin.read()
tps = re.search(r"^tps = ([0-9.]+) \(without initial connection time\)$", out, re.M)
if not tps:
    sys.exit("no tps in pgbench output:\n" + out)
failed = re.search(r"^number of failed transactions: (\d+)", out, re.M)
latencies_ms = []
prefix = sys.argv[2] if len(sys.argv) > 2 else "seed_log"
for path in glob.glob(sys.argv[1] + "/" + prefix + "*"):
    for line in open(path):
        # client_id transaction_no time(µs, or "failed") script_no time_epoch time_us
        fields = line.split()
        if len(fields) >= 3 and fields[2].isdigit():
            latencies_ms.append(int(fields[2]) / 1000)
if not latencies_ms:
    sys.exit("no transactions in the pgbench logs")
latencies_ms.sort()


def percentile(q):
    return latencies_ms[min(len(latencies_ms) - 1, int(q / 100 * len(latencies_ms)))]


print(f"RESULT requests={len(latencies_ms)} duration_us=0 rps={float(tps.group(1)):.1f} "
      f"p50_ms={percentile(50):.3f} p90_ms={percentile(90):.3f} p99_ms={percentile(99):.3f} "
      f"max_ms={latencies_ms[-1]:.3f} status_202={len(latencies_ms)} "
      f"status_other={failed.group(1) if failed else 0} socket_errors=0 timeouts=0")
