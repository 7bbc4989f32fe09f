#!/usr/bin/env python3
"""Summarises a QueueDrainBenchmark TSV: jobs/s and claim latency per cell (median, min-max), and two ratios:
1M finished rows vs none (same cell), and batched vs per-job completion (same table state, K, B).

usage: benchmarks/queue/summarize.py benchmarks/queue/results/<time>.tsv
"""
import csv
import statistics
import sys
from collections import defaultdict

rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
cells = defaultdict(list)
for r in rows:
    cells[(int(r["finished_rows"]), r["mode"], int(r["claimers"]), int(r["batch"]))].append(r)


def med(rs, key):
    return statistics.median(float(r[key]) for r in rs)


def spread(rs, key, fmt):
    vals = [float(r[key]) for r in rs]
    return f"{fmt.format(statistics.median(vals))} ({fmt.format(min(vals))}–{fmt.format(max(vals))})"


finished_states = sorted({k[0] for k in cells})
print("| finished rows | completion | K | B | runs (capped) | jobs/s median (min–max) | claim p50 ms median (min–max) "
      "| claim p99 ms median (min–max) | complete p50 ms/job median | load avg median |")
print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for key in sorted(cells, key=lambda k: (k[0], k[1] != "each", k[3], k[2])):
    rs = cells[key]
    capped = sum(r["capped"] == "true" for r in rs)
    load = statistics.median(float(r["loadavg_before"]) for r in rs)
    print(f"| {key[0]:,} | {key[1]} | {key[2]} | {key[3]} | {len(rs)} ({capped}) | {spread(rs, 'jobs_per_s', '{:.0f}')} | "
          f"{spread(rs, 'claim_p50_ms', '{:.2f}')} | {spread(rs, 'claim_p99_ms', '{:.1f}')} | "
          f"{med(rs, 'complete_p50_ms'):.2f} | {load:.1f} |")

if len(finished_states) == 2:
    lo, hi = finished_states
    print()
    print(f"| completion | K | B | jobs/s {hi:,} / {lo:,} finished rows (medians) | same, best run of each | "
          f"claim p50 {hi:,} / {lo:,} (medians) | same, best run of each |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for key in sorted({k[1:] for k in cells}, key=lambda k: (k[0] != "each", k[2], k[1])):
        a, b = cells.get((lo,) + key), cells.get((hi,) + key)
        if a and b:
            best = lambda rs, k, f: f(float(r[k]) for r in rs)
            print(f"| {key[0]} | {key[1]} | {key[2]} | {med(b, 'jobs_per_s') / med(a, 'jobs_per_s'):.2f} | "
                  f"{best(b, 'jobs_per_s', max) / best(a, 'jobs_per_s', max):.2f} | "
                  f"{med(b, 'claim_p50_ms') / med(a, 'claim_p50_ms'):.2f} | "
                  f"{best(b, 'claim_p50_ms', min) / best(a, 'claim_p50_ms', min):.2f} |")

print()
print("| finished rows | K | B | jobs/s batch / each |")
print("| ---: | ---: | ---: | ---: |")
for key in sorted(cells, key=lambda k: (k[0], k[3], k[2])):
    if key[1] != "batch":
        continue
    each = cells.get((key[0], "each", key[2], key[3]))
    if each:
        print(f"| {key[0]:,} | {key[2]} | {key[3]} | {med(cells[key], 'jobs_per_s') / med(each, 'jobs_per_s'):.1f} |")
