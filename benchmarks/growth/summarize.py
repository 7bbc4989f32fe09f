#!/usr/bin/env python3
"""Summarises a growth results TSV: medians (min–max) per (statement, database), and the ratios full ÷ empty of
p50, p99 and tx/s computed inside each run (the two cells of one run were measured minutes apart at most)."""
import csv
import statistics
import sys
from collections import defaultdict

rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
cells = defaultdict(list)
for r in rows:
    cells[(r["statement"], r["db"])].append(r)


def span(xs, fmt):
    return f"{fmt.format(statistics.median(xs))} ({fmt.format(min(xs))}–{fmt.format(max(xs))})"


print("| statement | table | runs | tx/s | p50 ms | p99 ms | job_queue rows |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
for (st, db) in sorted(cells, key=lambda k: (k[0], k[1] != "empty")):
    rs = cells[(st, db)]
    print(f"| {st} | {db} | {len(rs)} | {span([float(r['tps']) for r in rs], '{:.0f}')} | "
          f"{span([float(r['p50_ms']) for r in rs], '{:.2f}')} | {span([float(r['p99_ms']) for r in rs], '{:.2f}')} | "
          f"{statistics.median(int(r['job_queue_rows']) for r in rs):,.0f} |")

by = {(r["run"], r["statement"], r["db"]): r for r in rows}
print()
print("| statement | full ÷ empty p50, per run: median (min–max) | p99 | tx/s | per-run p50 ratios |")
print("| --- | ---: | ---: | ---: | --- |")
for st in sorted({k[0] for k in cells}):
    runs = sorted({k[0] for k in by if k[1] == st and (k[0], st, "full") in by and (k[0], st, "empty") in by}, key=int)

    def ratios(col):
        return [float(by[(r, st, "full")][col]) / float(by[(r, st, "empty")][col]) for r in runs]

    p50, p99, tps = ratios("p50_ms"), ratios("p99_ms"), ratios("tps")
    print(f"| {st} | {span(p50, '{:.2f}')} | {span(p99, '{:.2f}')} | {span(tps, '{:.2f}')} | "
          f"{', '.join(f'{x:.2f}' for x in p50)} |")
loads = [float(r["loadavg_before"]) for r in rows]
print(f"\nload average at the cell starts: {min(loads):.1f}–{max(loads):.1f} (median {statistics.median(loads):.1f})")
