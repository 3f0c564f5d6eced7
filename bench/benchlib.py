"""Shared code of the benchmark suite (bench/*.py): sandbox check, network namespaces the harness
makes and enters, timed process runs, percentiles, tables and JSON results.

Everything here runs inside tests/sandbox.sh (the sandbox plays "the host"); nothing may touch
the machine's own network namespace. Single-threaded on purpose: `Netns.enter` switches the
calling thread's network namespace with setns(2), and children started while inside inherit it.
"""

import ctypes
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BUILD = os.environ.get("BERTH_BUILD", os.path.join(REPO, "build"))
BERTH = os.environ.get("BERTH_BIN", os.path.join(BUILD, "berth"))
CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)


def assert_sandboxed():
    parent = os.environ.get("BERTH_SANDBOX_PARENT_NETNS")
    if not parent or int(parent) == os.stat("/proc/self/ns/net").st_ino \
            or not os.path.exists("/run/sandbox/resolv.conf"):
        sys.exit("refusing to run: not inside a test sandbox (use tests/sandbox.sh)")


def sh(*argv, check=True, input=None):
    """Runs a setup command (never timed); returns stdout."""
    r = subprocess.run([str(a) for a in argv], input=input, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))}: rc={r.returncode}: {r.stderr.strip()}")
    return r.stdout


def setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"setns: {os.strerror(e)}")


class Netns:
    """A named netns (/run/netns/NAME, made like `ip netns add`) that the harness can enter."""

    def __init__(self, name, lo_up=True):
        self.name = name
        self.path = f"/run/netns/{name}"
        sh("ip", "netns", "add", name)
        if lo_up:
            sh("ip", "-n", name, "link", "set", "lo", "up")
        self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)

    def enter(self):
        return _Entered(self._fd)

    def run(self, *argv, check=True):
        """A setup command inside this netns."""
        with self.enter():
            return sh(*argv, check=check)

    def delete(self):
        os.close(self._fd)
        sh("ip", "netns", "del", self.name, check=False)


class _Entered:
    def __init__(self, fd):
        self.fd = fd

    def __enter__(self):
        self.saved = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        setns(self.fd)

    def __exit__(self, *exc):
        setns(self.saved)
        os.close(self.saved)


def add_netns(name):
    """`ip netns add NAME` (the harness's part of an attach; never timed)."""
    sh("ip", "netns", "add", name)
    return f"/run/netns/{name}"


def del_netns(name):
    sh("ip", "netns", "del", name, check=False)


def timed(argv, input=None, env=None):
    """Wall and CPU (user+sys of the child and everything it reaped) time of one process, in
    ms, as a caller sees it (the process start included). Raises on failure."""
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter_ns()
    r = subprocess.run(argv, input=input, env=env, capture_output=True)
    wall = (time.perf_counter_ns() - t0) / 1e6
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))}: rc={r.returncode}: "
                           f"{r.stderr.decode(errors='replace').strip()[:2000]} "
                           f"{r.stdout.decode(errors='replace').strip()[:500]}")
    cpu = ((ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)) * 1000
    return wall, cpu, r.stdout


def pct(xs, q):
    """Nearest-rank percentile (q in 0..100)."""
    s = sorted(xs)
    return s[max(0, math.ceil(q / 100 * len(s)) - 1)]


def summarize(ms, cpu=None, edge=20):
    """p50/p95/max and the p50 of the first and last `edge` samples (execution order)."""
    if not ms:
        return None
    e = min(edge, len(ms))
    out = {"n": len(ms), "p50": statistics.median(ms), "p95": pct(ms, 95), "max": max(ms),
           "mean": statistics.fmean(ms), "total_s": sum(ms) / 1000,
           "first_p50": statistics.median(ms[:e]), "last_p50": statistics.median(ms[-e:]),
           "edge": e}
    if cpu:
        out["cpu_p50"] = statistics.median(cpu)
    return out


def fmt(v, digits=2):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def table(headers, rows):
    """A GitHub-markdown table, also readable in a terminal."""
    cells = [[fmt(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    line = lambda cs: "| " + " | ".join(c.ljust(w) for c, w in zip(cs, widths)) + " |"
    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in cells]
    return "\n".join(out)


def results_dir(args_out=None):
    d = args_out or os.environ.get("BENCH_OUT") or os.path.join(HERE, "results")
    os.makedirs(d, exist_ok=True)
    return d


def write_json(out_dir, name, data):
    path = os.path.join(out_dir, name)
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
    return path


def machine():
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    return {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "nproc": os.cpu_count(),
            "kernel": os.uname().release, "loadavg": [float(x) for x in load]}


def have(path_or_cmd):
    return os.path.exists(path_or_cmd) or shutil.which(path_or_cmd) is not None
