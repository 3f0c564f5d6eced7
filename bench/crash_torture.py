#!/usr/bin/env python3
"""Crash torture: kill -9 at random points of `run -p`, `rm`, `network create`, CNI ADD and
CNI DEL (N each), then `berth system reconcile`, then remove everything the normal way and
count what leaked. Prints the kill/leak table of the issue's acceptance figure.

  tests/sandbox.sh python3 bench/crash_torture.py --n 100 [--max-delay 0.03] [--json out.json]

Runs only inside tests/sandbox.sh (the harness refuses anything else)."""

import argparse
import collections
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../tests/integration"))
os.environ.setdefault("BERTH_BIN", os.path.join(os.path.dirname(__file__), "../build/berth"))

import harness  # noqa: E402  (refuses to run outside a sandbox)
from crash_torture import KINDS, leaks, torture  # noqa: E402


CLASSES = [("deleted veth", r"deleted veth"), ("deleted bridge", r"deleted br-"),
           ("removed netns", r"removed network namespace|remove network namespace"),
           ("removed files", r"/containers/"), ("never started", r"never started"),
           ("finished removal", r"finished an interrupted"), ("firewall", r"^firewall"),
           ("error", r"^error")]


def classify(line):
    import re
    for name, pattern in CLASSES:
        if re.search(pattern, line):
            return name
    return line[:40]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100, help="kills per kind")
    ap.add_argument("--max-delay", type=float, default=0.03)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json")
    a = ap.parse_args()
    harness.BerthTest("run").setUp()  # a fresh state root
    t0 = time.monotonic()
    found = torture(a.n, a.max_delay, a.seed, reconcile_each=True)
    t_kill = time.monotonic() - t0
    report = json.loads(harness.berth("system", "reconcile", "--format", "json").stdout)
    print("kind            kills  left something  repairs (recovered operations, firewall ...)")
    for kind, per_kill in found.items():
        hit = sum(1 for r in per_kill if r)
        repairs = collections.Counter()
        for r in per_kill:
            for line in r:
                repairs[classify(line)] += 1
        print(f"{kind:15s} {len(per_kill):5d}  {hit:14d}  " +
              ", ".join(f"{k} x{v}" for k, v in repairs.most_common(6)))
    again = json.loads(harness.berth("system", "reconcile", "--dry-run", "--format",
                                     "json").stdout)
    left = leaks(a.n)
    print(f"kills: {a.n} per kind x {len(KINDS)} kinds ({', '.join(KINDS)}), "
          f"delay 0-{a.max_delay * 1000:.0f} ms, {t_kill:.1f} s")
    print(f"final reconcile: {len(report['repairs'])} repairs; errors: {len(report['errors'])}; left for a second reconcile: "
          f"{len(again['repairs'])}")
    print("leaked after removing everything the normal way:")
    for k, v in left.items():
        print(f"  {len(v):5d}  {k}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"n": a.n, "per_kill": found, "repairs": report, "second": again, "leaks": left}, f, indent=1)
    return 0 if not any(left.values()) and not again["repairs"] else 1


if __name__ == "__main__":
    sys.exit(main())
