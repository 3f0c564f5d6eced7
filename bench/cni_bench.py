#!/usr/bin/env python3
"""ADD+DEL latency: berth's CNI plugin against the reference chain doing the same work, in the
same run (DESIGN.md section 6).

    ninja -C build                                   # berth-cni and build/cni/berth
    tests/sandbox.sh python3 bench/cni_bench.py      # N=100, no published port
    tests/sandbox.sh python3 bench/cni_bench.py --ports [--n 100] [--json out.json]

Runs only inside the test sandbox (a throwaway network + mount namespace). For each of N
iterations it makes a network namespace (not timed), then times, the way libcni runs a
conflist (one exec per plugin, prevResult passed on, DEL in reverse with the cached result):
  berth      [berth]                                      berth IPAM, masquerade, default route
  reference  [bridge(host-local), (portmap)]             the anchors' conflist: isGateway, ipMasq,
                                                          hairpinMode, host-local, default route
With --ports every ADD publishes hostPort 20000+i -> 80/tcp (berth: the same portMappings
capability the reference portmap plugin gets). Iterations alternate which tool goes first.
Prints p50/p95 of ADD, DEL and ADD+DEL (ms) and the ratio, and writes the raw timings to
bench/results/; wall time includes process start, as a runtime sees it. Reference plugins: Debian's containernetworking-plugins in /usr/lib/cni.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../tests/integration"))
from cni_runtime import REFERENCE_PLUGIN_DIR, Runtime  # noqa: E402

WORK = "/run/cni-bench"


def sandboxed():
    parent = os.environ.get("BERTH_SANDBOX_PARENT_NETNS")
    return parent and int(parent) != os.stat("/proc/self/ns/net").st_ino and \
        os.path.exists("/run/sandbox/resolv.conf")


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--ports", action="store_true", help="one published port per container")
    ap.add_argument("--cni-dir", default=os.path.join(HERE, "../build/cni"),
                    help="directory holding the berth plugin (build/cni)")
    ap.add_argument("--json", help="write the raw timings here (default: "
                                    "bench/results/cni_bench[_ports].json)")
    args = ap.parse_args()
    if not sandboxed():
        sys.exit("refusing to run: not inside a test sandbox (use tests/sandbox.sh)")
    for p in ("bridge", "host-local", "portmap"):
        if not os.access(os.path.join(REFERENCE_PLUGIN_DIR, p), os.X_OK):
            sys.exit(f"reference plugin {p} missing: apt-get install containernetworking-plugins")

    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    rt = Runtime([os.path.abspath(args.cni_dir), REFERENCE_PLUGIN_DIR])
    berth_list = {"cniVersion": "1.0.0", "name": "benchberth", "plugins": [
        {"type": "berth", "root": f"{WORK}/berth", "ipam": {"subnet": "10.90.0.0/16"},
         "capabilities": {"portMappings": True}}]}
    ref_plugins = [{"type": "bridge", "bridge": "cni0", "isGateway": True, "ipMasq": True,
                    "hairpinMode": True,
                    "ipam": {"type": "host-local", "dataDir": f"{WORK}/ipam",
                             "ranges": [[{"subnet": "10.89.0.0/16"}]],
                             "routes": [{"dst": "0.0.0.0/0"}]}}]
    if args.ports:
        ref_plugins.append({"type": "portmap", "capabilities": {"portMappings": True},
                            "snat": True})
    ref_list = {"cniVersion": "1.0.0", "name": "benchref", "plugins": ref_plugins}
    tools = {"berth": berth_list, "reference": ref_list}

    def cycle(tool, i, record):
        ns = f"bench-{tool}-{i}"
        subprocess.run(["ip", "netns", "add", ns], check=True)
        path = f"/run/netns/{ns}"
        caps = {"portMappings": [{"hostPort": 20000 + i % 40000, "containerPort": 80,
                                  "protocol": "tcp"}]} if args.ports else {}
        cid = f"{tool}{i:05d}"
        t0 = time.perf_counter_ns()
        res = rt.add_list(tools[tool], cid, path, capability_args=caps)
        t1 = time.perf_counter_ns()
        rt.del_list(tools[tool], cid, path, res, capability_args=caps)
        t2 = time.perf_counter_ns()
        subprocess.run(["ip", "netns", "del", ns], check=True)
        if record is not None:
            record["add"].append((t1 - t0) / 1e6)
            record["del"].append((t2 - t1) / 1e6)
            record["total"].append((t2 - t0) / 1e6)

    # Warm-up: the first ADD creates the bridge (and berth's state store); not measured.
    for tool in tools:
        for i in range(3):
            cycle(tool, 90000 + i, None)
    results = {t: {"add": [], "del": [], "total": []} for t in tools}
    load_before = os.getloadavg()[0]
    for i in range(args.n):
        order = list(tools) if i % 2 == 0 else list(reversed(tools))
        for tool in order:
            cycle(tool, i, results[tool])
    load_after = os.getloadavg()[0]

    # Exec floor: VERSION of each first plugin.
    floor = {}
    for tool, plugin in (("berth", "berth"), ("reference", "bridge")):
        samples = []
        for _ in range(30):
            t0 = time.perf_counter_ns()
            rt.invoke(plugin, "VERSION", {"cniVersion": "1.0.0"})
            samples.append((time.perf_counter_ns() - t0) / 1e6)
        floor[tool] = statistics.median(samples)

    what = "with 1 published port" if args.ports else "no published port"
    chain = "[bridge(host-local), portmap]" if args.ports else "[bridge(host-local)]"
    print(f"CNI ADD+DEL, N={args.n}, {what}; reference chain {chain}; "
          f"loadavg {load_before:.2f} -> {load_after:.2f}")
    print(f"{'tool':<10} {'ADD p50':>8} {'ADD p95':>8} {'DEL p50':>8} {'DEL p95':>8} "
          f"{'ADD+DEL p50':>12} {'p95':>8} {'VERSION p50':>12}")
    for tool, r in results.items():
        print(f"{tool:<10} {pct(r['add'], 50):8.2f} {pct(r['add'], 95):8.2f} "
              f"{pct(r['del'], 50):8.2f} {pct(r['del'], 95):8.2f} "
              f"{pct(r['total'], 50):12.2f} {pct(r['total'], 95):8.2f} {floor[tool]:12.2f}")
    b, r = pct(results["berth"]["total"], 50), pct(results["reference"]["total"], 50)
    print(f"ADD+DEL p50: berth {b:.2f} ms, reference {r:.2f} ms: {r / b:.1f}x faster")
    out = args.json or os.path.join(HERE, "results",
                                    "cni_bench_ports.json" if args.ports else "cni_bench.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"n": args.n, "ports": args.ports, "loadavg": [load_before, load_after],
                   "p50_ms": {t: {k: pct(v, 50) for k, v in r.items()} for t, r in results.items()},
                   "version_exec_p50_ms": floor, "raw_ms": results}, f, indent=1)
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
