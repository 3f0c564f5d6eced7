#!/usr/bin/env python3
"""Wall time of `berth run -d` on one user network, N times in a row (DESIGN.md section 6,
"attach/detach latency"; the full benchmark suite is a later issue).

Run it inside the test sandbox (it changes links and mounts, so never on the machine itself),
on an idle machine and not while something is building:

    tests/sandbox.sh /usr/bin/python3 bench/run_latency.py [--n 50] [--berth build/berth]

Each sample is perf_counter() around one subprocess.run of
`berth --root /run/berth-bench run -d --network bench -- sleep 600`. It prints p50/p95/max,
the p50 of the first 10 and the last 10 (flat as N grows is the goal), and the time of the
`rm -f` of each container; then removes everything it made.
"""

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = "/run/berth-bench"


def assert_sandboxed():
    parent = os.environ.get("BERTH_SANDBOX_PARENT_NETNS")
    if not parent or int(parent) == os.stat("/proc/self/ns/net").st_ino \
            or not os.path.exists("/run/sandbox/resolv.conf"):
        sys.exit("refusing to run: not inside a test sandbox (use tests/sandbox.sh)")


def pct(sorted_ms, p):
    """Nearest-rank percentile."""
    return sorted_ms[max(0, math.ceil(p / 100 * len(sorted_ms)) - 1)]


def summary(label, ms):
    s = sorted(ms)
    return (f"{label}: n={len(ms)} p50={statistics.median(s):.2f} ms "
            f"p95={pct(s, 95):.2f} ms max={s[-1]:.2f} ms")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--berth", default=os.path.join(os.path.dirname(__file__), "../build/berth"))
    args = ap.parse_args()
    assert_sandboxed()
    berth = [os.path.abspath(args.berth), "--root", ROOT]

    def call(*argv):
        return subprocess.run(berth + list(argv), capture_output=True, text=True, check=True)

    shutil.rmtree(ROOT, ignore_errors=True)
    call("network", "create", "bench")
    names = [f"bench{i}" for i in range(args.n)]
    run_ms, rm_ms = [], []
    try:
        for name in names:
            t = time.perf_counter()
            subprocess.run(berth + ["run", "-d", "--name", name, "--network", "bench", "--",
                                    "sleep", "600"], capture_output=True, text=True, check=True)
            run_ms.append((time.perf_counter() - t) * 1000)
    finally:
        for name in names[:len(run_ms)]:
            t = time.perf_counter()
            call("rm", "-f", name)
            rm_ms.append((time.perf_counter() - t) * 1000)
        call("network", "rm", "bench")

    print(f"berth run -d --network bench -- sleep 600, {args.n} in a row "
          f"({subprocess.run(berth[:1] + ['--version'], capture_output=True, text=True).stdout.strip()})")
    print(summary("run -d", run_ms))
    k = min(10, len(run_ms) // 2)
    print(f"run -d: first-{k} p50={statistics.median(run_ms[:k]):.2f} ms, "
          f"last-{k} p50={statistics.median(run_ms[-k:]):.2f} ms")
    print(summary("rm -f ", rm_ms))


if __name__ == "__main__":
    main()
