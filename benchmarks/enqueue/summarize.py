#!/usr/bin/env python3
"""Summarises an enqueue results TSV: median and min-max per (variant, connections), and the service's
requests/s ÷ the seed's enqueue_job transactions/s, computed inside each run (same run, same connections)."""
import csv
import statistics
import sys
from collections import defaultdict

rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
groups = defaultdict(list)
for r in rows:
    groups[(r["variant"], int(r["connections"]))].append(r)

LABELS = {"nokey": "service, no key", "key": "service, Idempotency-Key", "seed": "seed enqueue_job (pgbench)"}


def stat(rs, key, fmt="{:.0f}"):
    vals = [float(r[key]) for r in rs]
    return f"{fmt.format(statistics.median(vals))} ({fmt.format(min(vals))}–{fmt.format(max(vals))})"


def per_request(rs, key):
    vals = [float(r[key]) / int(r["requests"]) for r in rs if r.get(key)]
    return f"{statistics.median(vals):.2f}" if vals else "–"


def span(xs, fmt="{:.2f}"):
    return f"{fmt.format(statistics.median(xs))} ({fmt.format(min(xs))}–{fmt.format(max(xs))})"


print("| variant | connections | runs | requests/s median (min–max) | p50 ms median (min–max) "
      "| p99 ms median (min–max) | service CPU ms/request | PostgreSQL CPU ms/request | non-202 | socket errors + timeouts |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
order = {"nokey": 0, "key": 1, "seed": 2}
for (variant, c) in sorted(groups, key=lambda k: (order.get(k[0], 9), k[1])):
    rs = groups[(variant, c)]
    bad = sum(int(r["status_other"]) for r in rs)
    errs = sum(int(r["socket_errors"]) + int(r["timeouts"]) for r in rs)
    print(f"| {LABELS.get(variant, variant)} | {c} | {len(rs)} | {stat(rs, 'rps')} | "
          f"{stat(rs, 'p50_ms', '{:.2f}')} | {stat(rs, 'p99_ms', '{:.2f}')} | "
          f"{per_request(rs, 'app_cpu_ms')} | {per_request(rs, 'pg_cpu_ms')} | {bad} | {errs} |")

by_run = {(r["run"], r["variant"], int(r["connections"])): float(r["rps"]) for r in rows}
conns = sorted({k[1] for k in groups})
print()
print("| connections | key ÷ no key | no key ÷ seed, per run: median (min–max) | key ÷ seed, per run | "
      "per-run no key ÷ seed |")
print("| ---: | ---: | ---: | ---: | --- |")
for c in conns:
    runs = sorted({k[0] for k in by_run if k[2] == c}, key=int)

    def ratios(a, b):
        return [by_run[(r, a, c)] / by_run[(r, b, c)] for r in runs if (r, a, c) in by_run and (r, b, c) in by_run]

    kn, ns, ks = ratios("key", "nokey"), ratios("nokey", "seed"), ratios("key", "seed")
    print(f"| {c} | {span(kn) if kn else '–'} | {span(ns) if ns else '–'} | {span(ks) if ks else '–'} | "
          f"{', '.join(f'{x:.2f}' for x in ns)} |")
loads = [float(r["loadavg_before"]) for r in rows]
print(f"\nload average at the run starts: {min(loads):.1f}–{max(loads):.1f} (median {statistics.median(loads):.1f})")
