#!/usr/bin/env python3
"""Joins the client's samples with the fake's create log on the prompt marker and prints one result line:
pickup = create arrival at the fake − 202 answer at the client (same host, same clock), over the recorded
samples (warm-up excluded).

With DB_TSV (marker, enqueue transaction start µs, claim transaction start µs), pickup is also split in two:
202 answer → the claim's transaction start (the wake-up), and the claim's start → create at the fake (the claim,
the worker's reads before the create, and the create request).

usage: analyze.py SAMPLES_TSV CREATES_TSV [DB_TSV]
"""
import csv
import sys

samples = [r for r in csv.DictReader(open(sys.argv[1]), delimiter="\t") if r["warmup"] == "0"]
creates = {}
for line in open(sys.argv[2]):
    us, _, prompt = line.rstrip("\n").partition("\t")
    marker = prompt.rsplit(" ", 1)[-1]
    creates.setdefault(marker, int(us))          # the first create of a generation (a retry would be later)
pickup, answer = [], []
for r in samples:
    answer.append((int(r["answer_us"]) - int(r["sent_us"])) / 1000)
    if r["marker"] in creates:
        pickup.append((creates[r["marker"]] - int(r["answer_us"])) / 1000)
pickup.sort()
answer.sort()
to_claim, claim_to_create = [], []
if len(sys.argv) > 3:
    db = {}
    for line in open(sys.argv[3]):
        marker, _, claim_us = line.rstrip("\n").split("\t")
        db[marker] = int(claim_us)
    for r in samples:
        if r["marker"] in db and r["marker"] in creates:
            to_claim.append((db[r["marker"]] - int(r["answer_us"])) / 1000)
            claim_to_create.append((creates[r["marker"]] - db[r["marker"]]) / 1000)
    to_claim.sort()
    claim_to_create.sort()


def pct(xs, q):
    return xs[min(len(xs) - 1, int(q / 100 * len(xs)))] if xs else float("nan")


bad = sum(1 for r in samples if r["status"] != "202")
print(f"samples={len(samples)} matched={len(pickup)} non_202={bad} "
      f"pickup_p50_ms={pct(pickup, 50):.2f} pickup_p90_ms={pct(pickup, 90):.2f} pickup_p99_ms={pct(pickup, 99):.2f} "
      f"pickup_min_ms={pickup[0] if pickup else float('nan'):.2f} pickup_max_ms={pickup[-1] if pickup else float('nan'):.2f} "
      f"answer_p50_ms={pct(answer, 50):.2f} answer_p99_ms={pct(answer, 99):.2f} "
      f"answer_to_claim_p50_ms={pct(to_claim, 50):.2f} answer_to_claim_p99_ms={pct(to_claim, 99):.2f} "
      f"claim_to_create_p50_ms={pct(claim_to_create, 50):.2f} claim_to_create_p99_ms={pct(claim_to_create, 99):.2f}")
