#!/usr/bin/env python3
"""The pickup benchmark's client: enqueues COUNT generations, one every INTERVAL_S on a fixed schedule, over one
keep-alive connection, and appends for each the wall-clock time (µs since the epoch) just before sending and just
after its 202 answer was read. Every prompt carries a marker (pickup-RUN-INDEX) that the fake logs with the
create's arrival time. WARMUP (0 or 1) is written with each row: run.sh calls it once to warm up, waits until that
backlog is gone, and calls it again for the recorded samples.

usage: client.py HOST PORT TOKEN RUN FIRST_INDEX COUNT INTERVAL_S WARMUP OUT_TSV
"""
import http.client
import json
import os
import sys
import time

host, port, token, run = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
first, count, interval, warmup = int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7]), sys.argv[8]
path = sys.argv[9]
new = not os.path.exists(path)
out = open(path, "a")
if new:
    out.write("i\twarmup\tmarker\tsent_us\tanswer_us\tstatus\n")
conn = http.client.HTTPConnection(host, port, timeout=10)
headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
start = time.time()
for k in range(count):
    i = first + k
    # A fixed schedule: a slow answer does not shift the following requests' slots.
    wait = start + k * interval - time.time()
    if wait > 0:
        time.sleep(wait)
    marker = f"pickup-{run}-{i}"
    body = json.dumps({"prompt": f"a lighthouse at dawn {marker}", "width": 256, "height": 256, "num_outputs": 1})
    sent = time.time_ns() // 1000
    conn.request("POST", "/v1/generations", body, headers)
    resp = conn.getresponse()
    resp.read()
    answer = time.time_ns() // 1000
    out.write(f"{i}\t{warmup}\t{marker}\t{sent}\t{answer}\t{resp.status}\n")
out.close()
