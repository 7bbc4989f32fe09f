#!/usr/bin/env python3
"""Writes the product's claim and enqueue statements, taken from the Java source, as pgbench scripts, so that the
benchmark runs exactly the text the product sends (only the $n placeholders become pgbench :variables, which
pgbench -M prepared turns back into $n parameters).

usage: extract_sql.py SRC_ROOT OUT_DIR    (writes OUT_DIR/claim.pgbench and OUT_DIR/enqueue.pgbench)
"""
import re
import sys
import textwrap
from pathlib import Path

src, out = Path(sys.argv[1]), Path(sys.argv[2])


def text_block(java: str, name: str) -> str:
    """The value of `static final String NAME = [OTHER +] \"\"\" ... \"\"\";`, with OTHER resolved from the same file."""
    m = re.search(r'static final String ' + name + r' = (?:(\w+) \+ )?"""\n(.*?)"""\s*;', java, re.S)
    if not m:
        sys.exit(f"{name} not found")
    body = textwrap.dedent(m.group(2))
    return (text_block(java, m.group(1)) if m.group(1) else "") + body


def pgbench(sql: str, names: list) -> str:
    # $10 before $1: replace the longest numbers first.
    for i in sorted(range(1, len(names) + 1), reverse=True):
        sql = sql.replace(f"${i}", f":{names[i - 1]}")
    if re.search(r"\$\d", sql):
        sys.exit("unmapped placeholder in:\n" + sql)
    return sql.rstrip() + ";\n"


jobs = (src / "queue/JobRepository.java").read_text()
gens = (src / "generation/GenerationRepository.java").read_text()
claim = text_block(jobs, "CLAIM")
enqueue = text_block(gens, "INSERT_WITH_JOB")
out.mkdir(parents=True, exist_ok=True)
(out / "claim.pgbench").write_text(
    "-- JobRepository.CLAIM, from the Java source: $1 limit, $2 replica, $3 lease seconds.\n"
    + pgbench(claim, ["claim_limit", "replica", "lease_seconds"]))
(out / "enqueue.pgbench").write_text(
    "-- GenerationRepository.INSERT_WITH_JOB (ENQUEUE_CTES + its SELECT), from the Java source:\n"
    "-- $1 user (one of :users at random), $2 prompt, $3 model, $4 parameters, $5 priority, $6 max attempts,\n"
    "-- $7 the active cap (the default, 50).\n"
    "\\set user random(1, :users)\n"
    + pgbench(enqueue, ["user", "prompt", "model", "parameters", "priority", "max_attempts", "max_active"]))
