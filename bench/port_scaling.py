#!/usr/bin/env python3
"""Port scaling: the cost of publishing and unpublishing one port as the number of ports
already published grows. berth keeps published ports in nftables maps, so adding one is an
element update whatever is present; the figures should be flat.

Run (inside the test sandbox, never on the host):
    tests/sandbox.sh /usr/bin/python3 bench/port_scaling.py [--present 10,5000] [--reps 30]

Each sample: `berth run -d --network bench -p HOSTPORT:80 -- sleep 600` (publish, timed) then
`berth rm -f` (unpublish, timed), wall time around the CLI as a user sees it. The background
ports are published by a few containers with many -p each. Prints p50/p95 per level and the
ratio to the smallest level; writes JSON to bench/results/port_scaling.json.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import time

BERTH = os.environ.get("BERTH_BIN", os.path.join(os.path.dirname(__file__), "../build/berth"))
ROOT = "/run/berth-bench-ports"


def berth(*args):
    subprocess.run([BERTH, "--root", ROOT, *args], check=True, capture_output=True)


def timed(*args):
    t = time.perf_counter()
    berth(*args)
    return (time.perf_counter() - t) * 1000


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--present", default="10,5000")
    ap.add_argument("--reps", type=int, default=30)
    args = ap.parse_args()
    if not os.path.exists("/run/sandbox/resolv.conf"):
        raise SystemExit("run me inside tests/sandbox.sh")
    shutil.rmtree(ROOT, ignore_errors=True)
    berth("network", "create", "bench")
    published, holders, results = 0, 0, []
    for level in [int(x) for x in args.present.split(",")]:
        while published < level:  # background ports, up to 500 per holder container
            n = min(500, level - published)
            ports = []
            for i in range(n):
                ports += ["-p", f"{10000 + published + i}:80"]
            berth("run", "-d", "--name", f"holder{holders}", "--network", "bench", *ports, "--",
                  "sleep", "3600")
            published += n
            holders += 1
        add, rm = [], []
        for r in range(args.reps):
            add.append(timed("run", "-d", "--name", "probe", "--network", "bench", "-p",
                             "60000:80", "--", "sleep", "600"))
            rm.append(timed("rm", "-f", "probe"))
        results.append({"present": level, "publish_ms": add, "unpublish_ms": rm})
    base = results[0]
    print(f"{'ports present':>14} {'publish p50':>12} {'p95':>8} {'unpublish p50':>14} {'p95':>8}"
          f" {'ratio vs ' + str(base['present']):>14}")
    for r in results:
        ratio = statistics.median(r["publish_ms"]) / statistics.median(base["publish_ms"])
        print(f"{r['present']:>14} {statistics.median(r['publish_ms']):>10.2f}ms "
              f"{pct(r['publish_ms'], .95):>6.2f}ms {statistics.median(r['unpublish_ms']):>12.2f}ms "
              f"{pct(r['unpublish_ms'], .95):>6.2f}ms {ratio:>14.2f}")
    os.makedirs(os.path.join(os.path.dirname(__file__), "results"), exist_ok=True)
    with open(os.path.join(os.path.dirname(__file__), "results/port_scaling.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
