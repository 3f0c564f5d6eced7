#!/usr/bin/env python3
"""berth's benchmark suite (issue 6): every benchmark, berth and its anchors in the same run,
inside the test sandbox, one step at a time on a quiet machine.

    bench/run_all.py                 # the full suite (~15 min on an idle 2-core VM + waiting)
    bench/run_all.py --smoke         # every benchmark at tiny N (the ctest `bench.smoke`)
    bench/run_all.py --only attach,dataplane --out DIR

Run as root from the repository after `scripts/bootstrap.sh bench` (which installs the
profilers and builds build-bench/, with static dependencies: the binaries measured are those of
$BERTH_BUILD, by default build-bench/ when it exists, else build/). Outside the sandbox it snapshots what the anchors could write on the
machine (/var/lib/cni, /etc/cni, /run/netns, links, nft tables, ...), re-runs itself inside
tests/sandbox.sh, and afterwards checks that the snapshot is unchanged. Inside, it mounts a
sysfs of the sandbox's own netns on /sys, then runs each step in a nested sandbox of its own
after waiting until the rest of the machine is quiet (other load < --quiet cores, at most
--max-wait s), and logs the load before and during each step (contention.log, as the anchors
did). Tables are printed and collected in summary.md; each benchmark writes its JSON next to it.
All of it goes to bench/results/latest/ (or --out), which a full run empties first: the raw
samples of the newest run replace the previous ones instead of piling up in git. Keep a run's
figures as history in bench/RESULTS.md (and its summary.md under results/runN-<commit>/).
"""

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time

# The benchmark build (scripts/bootstrap.sh bench) when there is one; benchlib and every step
# read BERTH_BUILD.
_BENCH_BUILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build-bench")
if "BERTH_BUILD" not in os.environ and os.path.exists(os.path.join(_BENCH_BUILD, "berth")):
    os.environ["BERTH_BUILD"] = os.path.abspath(_BENCH_BUILD)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

PY = sys.executable or "/usr/bin/python3"
SANDBOX = os.path.join(bl.REPO, "tests", "sandbox.sh")
DNS_BENCH = os.path.join(bl.HERE, "dns", "bench.py")  # berthd vs dnsmasq vs aardvark-dns


def steps(args):
    out = ["--out", args.out]
    b = lambda name: [PY, os.path.join(bl.HERE, name)]
    if args.smoke:
        full = [
            ("attach", b("attach_detach.py") + ["--n", "3"] + out),
            ("attach-berth", b("attach_detach.py") + ["--n", "5", "--tools",
                                                      "berth-cni,berth-cli,floor",
                                                      "--tag", "_berth"] + out),
            ("ports", b("port_scaling.py") + ["--present", "3,10", "--reps", "2"] + out),
            ("dataplane", b("dataplane.py") + ["--duration", "1", "--reps", "1"] + out),
        ]
    else:
        full = [
            ("attach", b("attach_detach.py") + ["--n", str(args.n)] + out),
            ("attach-berth", b("attach_detach.py") + ["--n", str(args.n_berth), "--tools",
                                                      "berth-cni,berth-cli,floor",
                                                      "--tag", "_berth"] + out),
            ("ports", b("port_scaling.py") + ["--present", "10,1000,10000", "--reps", "30"] + out),
            ("dataplane", b("dataplane.py") + ["--duration", "10", "--reps", "3"] + out),
            # Multi-host (issue 12): simulated hosts with a real etcd; full runs only (~2 min).
            ("cluster-dataplane", b("cluster_dataplane.py") + ["--duration", "3", "--reps", "3"]
             + out),
            ("cluster-join", b("cluster_join.py") + ["--nodes", "20", "--reps", "10"] + out),
        ]
    # The DNS benchmark has its own smoke test (ctest bench.dns_smoke): full runs only.
    if os.path.exists(DNS_BENCH) and not args.smoke:
        full.append(("dns", [PY, DNS_BENCH, "--out", os.path.join(args.out, "dns.json")]))
    only = [s for s in args.only.split(",") if s]
    return [s for s in full if not only or s[0] in only]


def cpu_busy():
    """(busy, total) jiffies of the whole machine (/proc/stat is not namespaced)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def busy_cores(seconds):
    b0, t0 = cpu_busy()
    time.sleep(seconds)
    b1, t1 = cpu_busy()
    return (b1 - b0) / max(1, t1 - t0) * os.cpu_count()


def wait_quiet(limit, max_wait):
    t0 = time.time()
    print(f"waiting until other load < {limit} cores (at most {max_wait:.0f} s)", flush=True)
    while True:
        c = busy_cores(2)
        if c < limit or time.time() - t0 > max_wait:
            return c, time.time() - t0


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def inside(args):
    bl.assert_sandboxed()
    # /sys of the sandbox's own netns: whatever a tool reads or writes there is never the host's.
    subprocess.run(["mount", "-t", "sysfs", "sysfs", "/sys"], check=False)
    os.makedirs(args.out, exist_ok=True)
    log_path = os.path.join(args.out, "contention.log")
    summary = [f"# berth benchmark suite: {'smoke' if args.smoke else 'full'} run",
               f"machine: {bl.machine()}", ""]
    failed = []
    for name, argv in steps(args):
        if args.smoke:
            before, waited = busy_cores(0.2), 0.0
        else:
            before, waited = wait_quiet(args.quiet, args.max_wait)
        la0 = loadavg()
        shown = ["python3"] + [os.path.relpath(a, bl.REPO) if a.startswith(bl.HERE) else a
                               for a in argv[1:]]
        print(f"\n== {name}: {' '.join(shown)}", flush=True)
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        b0, t0 = cpu_busy()
        w0 = time.time()
        p = subprocess.run([SANDBOX, *argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        wall = time.time() - w0
        b1, t1 = cpu_busy()
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        ours = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        total = (b1 - b0) / max(1, t1 - t0) * os.cpu_count()
        others = max(0.0, total - ours / max(wall, 1e-9))
        print(p.stdout, flush=True)
        line = (f"{time.strftime('%H:%M:%S')} {name}: before start {before:.2f} cores busy "
                f"(quiet after {waited:.0f}s), loadavg {la0}; during step: all {total:.2f} cores, "
                f"ours {ours / max(wall, 1e-9):.2f}, others ~{others:.2f} over {wall:.1f} s; "
                f"loadavg after {loadavg()}; rc={p.returncode}")
        print(line, flush=True)
        with open(log_path, "a") as f:
            f.write(line + "\n")
        has_table = ("\n|" in p.stdout and "|---" in p.stdout.replace("|-", "|---")) or \
            (name == "dns" and "qps" in p.stdout)
        if p.returncode != 0 or not has_table:
            failed.append(name)
        summary += [f"## {name}", "", "```", p.stdout.strip(), "```", "", f"contention: {line}",
                    ""]
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write("\n".join(summary) + "\n")
    if failed:
        print(f"\nFAILED (non-zero exit or no table): {', '.join(failed)}")
        return 1
    print(f"\nall steps produced their tables; summary: {os.path.join(args.out, 'summary.md')}")
    return 0


# Outside the sandbox: what the anchors (or berth) could leave on the machine itself.
HOST_PATHS = ["/var/lib/cni", "/run/cni", "/etc/cni", "/run/netns", "/run/containers",
              "/etc/containers/networks", "/var/lib/containers", "/run/xtables.lock",
              "/var/lib/berth", "/run/berth"]


def host_snapshot():
    snap = {}
    for p in HOST_PATHS:
        if os.path.isdir(p):
            snap[p] = sorted(os.path.relpath(os.path.join(d, f), p)
                             for d, ds, fs in os.walk(p) for f in fs + ds)
        else:
            snap[p] = os.path.exists(p)
    snap["links"] = sorted(l.split(":")[1].strip() for l in
                           bl.sh("ip", "-o", "link", "show").splitlines())
    snap["nft tables"] = bl.sh("nft", "list", "tables", check=False).split("\n")
    snap["iptables -S"] = bl.sh("iptables", "-S", check=False) if bl.have("iptables") else ""
    snap["iptables -t nat -S"] = bl.sh("iptables", "-t", "nat", "-S", check=False) \
        if bl.have("iptables") else ""
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        snap["ip_forward"] = f.read().strip()
    return snap


def outside(args):
    if os.geteuid() != 0:
        sys.exit("run as root (the suite builds network namespaces inside a sandbox)")
    if args.clear_out and os.path.isdir(args.out):
        shutil.rmtree(args.out)  # bench/results/latest/: the new run replaces the old one
    print(f"binaries: {bl.BUILD}; results: {args.out}", flush=True)
    before = host_snapshot()
    argv = [SANDBOX, PY, os.path.abspath(__file__), "--inside", *sys.argv[1:]]
    argv += ["--out", args.out]  # the last --out wins
    rc = subprocess.run(argv).returncode
    after = host_snapshot()
    changed = [k for k in before if before[k] != after[k]]
    if changed:
        print(f"HOST CHANGED: {', '.join(changed)}")
        for k in changed:
            print(f"  {k}: before {before[k]!r}\n  {k}: after  {after[k]!r}")
        return 1
    print("host check: /var/lib/cni, /etc/cni, /run/netns, links, nft tables, iptables and "
          "ip_forward of the machine are unchanged")
    return rc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true", help="tiny N, no waiting for quiet")
    ap.add_argument("--only", default="", help="steps: attach,attach-berth,ports,dataplane,"
                    "cluster-dataplane,cluster-join,dns")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--n-berth", type=int, default=1000)
    ap.add_argument("--quiet", type=float, default=0.3, help="cores of other load to wait for")
    ap.add_argument("--max-wait", type=float, default=900)
    ap.add_argument("--out", default=None)
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.clear_out = args.out is None and not args.smoke and not args.only and not args.inside
    if args.out is None:
        args.out = os.path.join(bl.HERE, "results", "latest") if not args.smoke else \
            os.path.join("/tmp", f"berth-bench-smoke-{os.getpid()}")
    args.out = os.path.abspath(args.out)
    if args.inside:
        return inside(args)
    if os.environ.get("BERTH_SANDBOX_PARENT_NETNS"):  # already sandboxed (ctest): nest one more
        return subprocess.run([SANDBOX, PY, os.path.abspath(__file__), "--inside",
                               *sys.argv[1:], "--out", args.out]).returncode
    return outside(args)


if __name__ == "__main__":
    sys.exit(main())
