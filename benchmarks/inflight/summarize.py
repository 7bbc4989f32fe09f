#!/usr/bin/env python3
"""Medians and ranges per variant of benchmarks/inflight/results/runs.tsv.

usage: summarize.py runs.tsv [first_stamp [last_stamp]]   (stamps are compared as text, e.g. 20261205T080122Z)
"""
import csv, statistics, sys
from collections import defaultdict

rows = list(csv.DictReader(open(sys.argv[1]), delimiter='\t'))
lo = sys.argv[2] if len(sys.argv) > 2 else ''
hi = sys.argv[3] if len(sys.argv) > 3 else '~'
groups = defaultdict(list)
for r in rows:
    if lo <= r['stamp'] <= hi:
        groups[(r['mode'], r['slots'], r['delay_ms'], r['fake_creates_per_min'])].append(r)
cols = ['max_in_flight', 'median_in_flight_last_window', 'jobs_per_hour', 'pct_429', 'creates_429', 'cpu_ms_per_job',
        'fake_cpu_ms_per_job', 'max_conns_to_fake', 'max_rss_mb', 'load1_start', 'load1_max']
for key, rs in sorted(groups.items()):
    print('mode=%s slots=%s delay_ms=%s fake_limit=%s runs=%d (%s)' % (*key, len(rs), ', '.join(r['stamp'] for r in rs)))
    for c in cols:
        xs = sorted(float(r[c]) for r in rs if r.get(c) not in (None, ''))
        if xs:
            print('  %-30s %10.3f  (%g – %g)' % (c, statistics.median(xs), xs[0], xs[-1]))
