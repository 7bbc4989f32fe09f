#!/usr/bin/env python3
"""Summarises an enqueue results TSV: median and min-max per (variant, connections)."""
import csv
import statistics
import sys
from collections import defaultdict

rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
groups = defaultdict(list)
for r in rows:
    groups[(r["variant"], int(r["connections"]))].append(r)


def stat(rs, key, fmt="{:.0f}"):
    vals = [float(r[key]) for r in rs]
    return f"{fmt.format(statistics.median(vals))} ({fmt.format(min(vals))}–{fmt.format(max(vals))})"


print("| Idempotency-Key | connections | runs | requests/s median (min–max) | p50 ms median (min–max) "
      "| p99 ms median (min–max) | service CPU ms/request | PostgreSQL CPU ms/request | non-202 | socket errors + timeouts |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for (variant, c) in sorted(groups, key=lambda k: (k[0] != "nokey", k[1])):
    rs = groups[(variant, c)]
    bad = sum(int(r["status_other"]) for r in rs)
    errs = sum(int(r["socket_errors"]) + int(r["timeouts"]) for r in rs)
    print(f"| {'yes' if variant == 'key' else 'no'} | {c} | {len(rs)} | {stat(rs, 'rps')} | "
          f"{stat(rs, 'p50_ms', '{:.2f}')} | {stat(rs, 'p99_ms', '{:.2f}')} | "
          f"{statistics.median(float(r['app_cpu_ms']) / int(r['requests']) for r in rs):.2f} | "
          f"{statistics.median(float(r['pg_cpu_ms']) / int(r['requests']) for r in rs):.2f} | {bad} | {errs} |")

print()
print("| connections | key/no-key requests/s (ratio of medians) |")
print("| ---: | ---: |")
for c in sorted({k[1] for k in groups}):
    if ("key", c) in groups and ("nokey", c) in groups:
        k = statistics.median(float(r["rps"]) for r in groups[("key", c)])
        n = statistics.median(float(r["rps"]) for r in groups[("nokey", c)])
        print(f"| {c} | {k / n:.2f} |")
