#!/usr/bin/env python3
"""DNS benchmark: berthd against dnsmasq and aardvark-dns, same machine, same run.

Run it through bench/dns/run.sh (which puts it in a tests/sandbox.sh sandbox; it refuses to
run anywhere else). Each server answers the same N names (default 100). Each is queried by
dnsperf (default: 1 client, 100 outstanding, A queries, like the anchor numbers in
shared/anchors) from inside a container whose interface sits on a bridge, the server listening
on that bridge's gateway: the path a container's lookups take.

  berthd    the names are real containers on a berth network (the client is one of them)
  dnsmasq   --addn-hosts with the same names, on the gateway of a second network
  aardvark  aardvark-dns 1.4 with a netavark-style config file, on a third network's gateway

Per server and round: a throughput pass (qps, lost, average latency; dnsperf's own figures)
and a latency pass with dnsperf -v for percentiles (verbose output costs the client some
speed, so the passes are separate). Servers alternate within each round. With --churn N,
berthd is also measured while N containers are started and removed under load (no query may
be lost). Prints a table with ratios and writes JSON.
"""

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "../.."))
BERTH = os.environ.get("BERTH_BIN", os.path.join(REPO, "build/berth"))
ROOT = "/run/berth-bench"
AARDVARK = "/usr/lib/podman/aardvark-dns"


def sandboxed():
    parent = os.environ.get("BERTH_SANDBOX_PARENT_NETNS")
    return bool(parent) and int(parent) != os.stat("/proc/self/ns/net").st_ino \
        and os.path.exists("/run/sandbox/resolv.conf")


def sh(argv, check=True, timeout=120, **kw):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def berth(*args, **kw):
    return sh([BERTH, "--root", ROOT, *args], **kw)


def berth_json(*args):
    return json.loads(berth(*args).stdout)


def machine_ticks():
    """(total, busy) clock ticks of the whole machine (/proc/stat is not namespaced)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v), sum(v) - v[3] - v[4]


def our_ticks():
    """CPU ticks used by this sandbox: the sandbox has its own PID namespace and /proc, so
    every process listed is ours (plus what our finished children used)."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
            if int(pid) == os.getpid():
                total += int(fields[13]) + int(fields[14])  # cutime, cstime
        except (OSError, IndexError, ValueError):
            pass
    return total


class LoadMeter:
    """How many cores other workloads (outside this sandbox) used over an interval."""

    def __init__(self):
        self.t0, self.b0 = machine_ticks()
        self.o0 = our_ticks()
        self.start = time.monotonic()

    def others_cores(self):
        t1, b1 = machine_ticks()
        o1 = our_ticks()
        ncpu = os.cpu_count()
        total = max(1, t1 - self.t0)
        others = max(0, (b1 - self.b0) - (o1 - self.o0))
        return round(others / total * ncpu, 2)


def others_busy(seconds=1.0):
    m = LoadMeter()
    time.sleep(seconds)
    return m.others_cores()


def parse_dnsperf(text):
    def num(pattern, cast=float):
        m = re.search(pattern, text)
        return cast(m.group(1)) if m else None
    return {
        "sent": num(r"Queries sent:\s+(\d+)", int),
        "completed": num(r"Queries completed:\s+(\d+)", int),
        "lost": num(r"Queries lost:\s+(\d+)", int),
        "qps": num(r"Queries per second:\s+([\d.]+)"),
        "avg_ms": (num(r"Average Latency \(s\):\s+([\d.]+)") or 0) * 1000,
        "max_ms": (num(r"Average Latency \(s\):.*max ([\d.]+)") or 0) * 1000,
        "stddev_ms": (num(r"Latency StdDev \(s\):\s+([\d.]+)") or 0) * 1000,
        "noerror": num(r"NOERROR (\d+)", int),
    }


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * len(sorted_values))) - 1))
    return sorted_values[k]


class Bench:
    def __init__(self, args):
        self.args = args
        self.procs = []
        self.tmp = tempfile.mkdtemp(prefix="dnsbench-")
        self.results = {"started": datetime.datetime.now().isoformat(timespec="seconds"),
                        "config": vars(args), "contention": [], "runs": []}

    # --- setup ---------------------------------------------------------------------------

    def setup(self):
        n = self.args.names
        shutil.rmtree(ROOT, ignore_errors=True)
        berth("network", "create", "bench")
        berth("network", "create", "benchdm", "-o", "dns=false")
        berth("network", "create", "benchav", "-o", "dns=false")
        self.names = [f"ctr{i:03d}" for i in range(n)]
        for name in self.names:
            berth("run", "-d", "--name", name, "--network", "bench", "--", "sleep", "infinity")
        berth("run", "-d", "--name", "dmclient", "--network", "benchdm", "--", "sleep", "infinity")
        berth("run", "-d", "--name", "avclient", "--network", "benchav", "--", "sleep", "infinity")
        self.ips = {name: berth_json("inspect", name)["networks"]["bench"]["ip"]
                    for name in self.names}
        self.gw = {net: berth_json("network", "inspect", net)["gateway"]
                   for net in ("bench", "benchdm", "benchav")}
        self.queries = os.path.join(self.tmp, "queries.txt")
        with open(self.queries, "w") as f:
            for name in self.names:
                f.write(f"{name} A\n")
        # dnsmasq: the same names and addresses, from a hosts file.
        hosts = os.path.join(self.tmp, "hosts")
        with open(hosts, "w") as f:
            for name in self.names:
                f.write(f"{self.ips[name]} {name}\n")
        self.dnsmasq = self.start(["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
                    "--no-hosts", "--no-poll", f"--addn-hosts={hosts}",
                    f"--listen-address={self.gw['benchdm']}", "--bind-interfaces", "--port=53",
                    "--user=root", "--pid-file=", "--cache-size=1000"])
        # aardvark-dns: one config file per network (netavark's format); the client must be a
        # container of that network or aardvark does not answer it.
        avdir = os.path.join(self.tmp, "aardvark")
        os.mkdir(avdir)
        avclient = berth_json("inspect", "avclient")["networks"]["benchav"]["ip"]
        with open(os.path.join(avdir, "benchav"), "w") as f:
            f.write(f"{self.gw['benchav']}\n")
            f.write(f"{'0' * 63}1 {avclient}  avclient\n")
            for i, name in enumerate(self.names):
                f.write(f"{i:064x} {self.ips[name]}  {name}\n")
        self.avdir = avdir
        if os.path.exists(AARDVARK):
            sh([AARDVARK, "--config", avdir, "-p", "53", "run"], timeout=30)
        self.servers = {"berthd": ("ctr000", self.gw["bench"]),
                        "dnsmasq": ("dmclient", self.gw["benchdm"]),
                        "aardvark": ("avclient", self.gw["benchav"])}
        # Everyone answers before we measure.
        for server, (client, addr) in self.servers.items():
            if server not in self.args.servers:
                continue
            ok = False
            for _ in range(50):
                out = berth("exec", client, "--", "dig", "+short", "+time=1", "+tries=1",
                            f"@{addr}", self.names[-1], check=False).stdout.split()
                if out == [self.ips[self.names[-1]]]:
                    ok = True
                    break
                time.sleep(0.1)
            if not ok:
                raise SystemExit(f"{server} does not answer {self.names[-1]} at {addr}")

    def start(self, argv):
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def cleanup(self):
        for p in self.procs:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        try:  # aardvark-dns daemonizes; its pid file is in its config directory
            with open(os.path.join(self.avdir, "aardvark.pid")) as f:
                os.kill(int(f.read().strip()), signal.SIGTERM)
        except (OSError, ValueError, AttributeError):
            pass
        if os.path.exists(os.path.join(ROOT, "berth.db")):
            for c in json.loads(berth("ps", "-a", "--format", "json", check=False).stdout or "[]"):
                berth("rm", "-f", c["name"], check=False)
            berth("network", "prune", check=False)
        try:
            with open(os.path.join(ROOT, "berthd.pid")) as f:
                pid = int(f.read().strip())
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                if not os.path.exists(f"/proc/{pid}"):
                    break
                time.sleep(0.05)
        except (OSError, ValueError):
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- measuring ----------------------------------------------------------------------------

    def server_pid(self, server):
        try:
            if server == "berthd":
                with open(os.path.join(ROOT, "berthd.pid")) as f:
                    return int(f.read().strip())
            if server == "dnsmasq":
                return self.dnsmasq.pid
            with open(os.path.join(self.avdir, "aardvark.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    @staticmethod
    def process_ticks(pid):
        """utime + stime of a process, all threads (clock ticks)."""
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError, TypeError):
            return None

    def dnsperf(self, client, addr, seconds, verbose=False, server=None):
        argv = [BERTH, "--root", ROOT, "exec", client, "--", "dnsperf", "-s", addr, "-d",
                self.queries, "-l", str(seconds), "-c", str(self.args.clients),
                "-q", str(self.args.outstanding), "-t", "5"]
        if verbose:
            # At a fixed rate that no server here is near its limit at, so the percentiles
            # show how long an answer takes rather than how long the client's queue is.
            argv += ["-v", "-Q", str(self.args.latency_qps)]
            # Stream: 100k+ lines a second; keep only the latencies.
            p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            lat, lost, tail = [], 0, []
            for line in p.stdout:
                if line.startswith("> "):
                    parts = line.split()
                    try:
                        lat.append(float(parts[-1]) * 1000)
                    except ValueError:
                        pass
                elif line.startswith("[Timeout]"):
                    lost += 1
                else:
                    tail.append(line)
            p.wait()
            lat.sort()
            return {"samples": len(lat), "timeouts": lost,
                    "p50_ms": percentile(lat, 50), "p90_ms": percentile(lat, 90),
                    "p99_ms": percentile(lat, 99), "p999_ms": percentile(lat, 99.9),
                    "max_ms": lat[-1] if lat else None}
        pid = self.server_pid(server) if server else None
        t0 = self.process_ticks(pid)
        p = sh(argv, timeout=seconds + 60)
        t1 = self.process_ticks(pid)
        r = parse_dnsperf(p.stdout)
        if t0 is not None and t1 is not None and r.get("completed"):
            hz = os.sysconf("SC_CLK_TCK")
            r["server_cpu_s"] = round((t1 - t0) / hz, 2)
            r["server_us_per_query"] = round((t1 - t0) / hz * 1e6 / r["completed"], 2)
        return r

    def quiet_check(self, label):
        """Waits (up to --wait-quiet seconds) until other workloads use < 0.15 cores, and
        records how busy the machine was; step_done() adds the load during the step."""
        waited, deadline = 0.0, time.monotonic() + self.args.wait_quiet
        while True:
            busy = others_busy(1.0)
            if busy < 0.15 or time.monotonic() >= deadline:
                break
            waited += 1.0
        with open("/proc/loadavg") as f:
            load = f.read().split()[0]
        entry = {"step": label, "time": datetime.datetime.now().isoformat(timespec="seconds"),
                 "others_cores_before": busy, "waited_s": waited, "loadavg1": float(load)}
        self.results["contention"].append(entry)
        if busy >= 0.15:
            print(f"  note: other workloads use {busy:.2f} cores before {label} "
                  "(numbers may be low)", file=sys.stderr)
        self.meter = LoadMeter()
        return entry

    def step_done(self, entry):
        entry["others_cores_during"] = self.meter.others_cores()
        line = (f"{entry['time']} {entry['step']}: before start {entry['others_cores_before']} "
                f"cores busy elsewhere (waited {entry['waited_s']:.0f} s); during step: others "
                f"~{entry['others_cores_during']} cores")
        print("  " + line, file=sys.stderr)
        entry["line"] = line

    def churn(self, seconds, count):
        """dnsperf against berthd while `count` containers are started and removed."""
        result = {}

        def load():
            result.update(self.dnsperf("ctr000", self.gw["bench"], seconds, server="berthd"))
        t = threading.Thread(target=load)
        t.start()
        time.sleep(min(1.0, seconds / 4))
        started = time.monotonic()
        for i in range(count):
            berth("run", "-d", "--name", f"churn{i:03d}", "--network", "bench", "--",
                  "sleep", "infinity")
        for i in range(count):
            berth("rm", "-f", f"churn{i:03d}")
        result["churn_containers"] = count
        result["churn_seconds"] = round(time.monotonic() - started, 2)
        t.join()
        if result["churn_seconds"] > seconds:
            print("  note: churn outlasted the load; raise --duration", file=sys.stderr)
        return result

    def run(self):
        a = self.args
        for rnd in range(a.rounds):
            order = [s for s in ("berthd", "dnsmasq", "aardvark") if s in a.servers]
            if rnd % 2 == 1:
                order.reverse()  # alternate, so no server always goes first
            for server in order:
                client, addr = self.servers[server]
                entry = self.quiet_check(f"{server} round {rnd + 1}")
                print(f"== {server}: dnsperf {a.duration} s from {client} to {addr}",
                      file=sys.stderr)
                r = {"server": server, "round": rnd + 1}
                r.update(self.dnsperf(client, addr, a.duration, server=server))
                if a.latency > 0:
                    lat = self.dnsperf(client, addr, a.latency, verbose=True)
                    r.update({k: v for k, v in lat.items() if k != "max_ms"})
                self.step_done(entry)
                r["others_cores_during"] = entry["others_cores_during"]
                self.results["runs"].append(r)
        if a.churn and "berthd" in a.servers:
            entry = self.quiet_check("berthd churn")
            print(f"== berthd under churn: {a.churn} containers started and removed during "
                  f"{a.duration} s of load", file=sys.stderr)
            r = {"server": "berthd", "round": "churn"}
            r.update(self.churn(a.duration, a.churn))
            self.step_done(entry)
            r["others_cores_during"] = entry["others_cores_during"]
            self.results["runs"].append(r)

    # --- reporting ----------------------------------------------------------------------------

    def report(self):
        runs = [r for r in self.results["runs"] if r["round"] != "churn"]
        summary = {}
        for server in ("berthd", "dnsmasq", "aardvark"):
            rs = [r for r in runs if r["server"] == server]
            if not rs:
                continue

            def med(key):
                vals = [r[key] for r in rs if r.get(key) is not None]
                return statistics.median(vals) if vals else None
            summary[server] = {k: med(k) for k in ("qps", "avg_ms", "server_us_per_query",
                                                   "p50_ms", "p99_ms", "p999_ms", "lost",
                                                   "sent")}
        self.results["summary"] = summary
        ratios = {}
        b = summary.get("berthd", {})
        for other in ("dnsmasq", "aardvark"):
            o = summary.get(other, {})
            if b.get("qps") and o.get("qps"):
                ratios[f"qps berthd/{other}"] = round(b["qps"] / o["qps"], 2)
            if b.get("server_us_per_query") and o.get("server_us_per_query"):
                ratios[f"server CPU per query {other}/berthd"] = round(
                    o["server_us_per_query"] / b["server_us_per_query"], 2)
        self.results["ratios"] = ratios

        def f(v, fmt):
            return "-" if v is None else format(v, fmt)
        a = self.args
        lines = [f"DNS benchmark: {a.names} names, dnsperf -c {a.clients} -q {a.outstanding}, "
                 f"{a.duration:g} s at full load per server and round, {a.rounds} round(s) "
                 "(medians).",
                 f"Full load: qps, average latency, lost, and the server's own CPU time per "
                 f"answer. Percentiles: a {a.latency:g} s dnsperf -v pass at "
                 f"{a.latency_qps} queries/s.", "",
                 f"{'server':12} {'qps':>9} {'avg ms':>7} {'lost':>5} {'CPU us/q':>9} "
                 f"{'p50 ms':>7} {'p99 ms':>7} {'p99.9 ms':>8}"]
        for server, s in summary.items():
            lines.append(f"{server:12} {f(s['qps'], ',.0f'):>9} {f(s['avg_ms'], '.3f'):>7} "
                         f"{f(s['lost'], 'd'):>5} {f(s['server_us_per_query'], '.2f'):>9} "
                         f"{f(s['p50_ms'], '.3f'):>7} {f(s['p99_ms'], '.3f'):>7} "
                         f"{f(s['p999_ms'], '.3f'):>8}")
        for r in self.results["runs"]:
            if r["round"] == "churn":
                lines.append(f"{'berthd+churn':12} {f(r['qps'], ',.0f'):>9} "
                             f"{f(r['avg_ms'], '.3f'):>7} {f(r['lost'], 'd'):>5} "
                             f"{f(r.get('server_us_per_query'), '.2f'):>9}   "
                             f"({r['churn_containers']} containers started and removed "
                             f"in {r['churn_seconds']} s under load)")
        if ratios:
            lines.append("")
            lines.append("ratios: " + ", ".join(f"{k} {v}x" for k, v in ratios.items()))
        lines.append("")
        lines.append("contention (cores used by other workloads on this machine):")
        for c in self.results["contention"]:
            lines.append("  " + c.get("line", c["step"]))
        text = "\n".join(lines)
        print(text)
        self.results["table"] = text
        if self.args.out:
            os.makedirs(os.path.dirname(os.path.abspath(self.args.out)), exist_ok=True)
            with open(self.args.out, "w") as fh:
                json.dump(self.results, fh, indent=2)
            print(f"\nJSON: {self.args.out}")

    def check(self):
        """--check: berthd must have lost nothing (the smoke test's assertion)."""
        bad = [r for r in self.results["runs"] if r["server"] == "berthd" and r.get("lost")]
        if bad:
            print(f"FAIL: berthd lost queries: {bad}", file=sys.stderr)
            return 1
        return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=20, help="seconds per throughput pass")
    ap.add_argument("--latency", type=float, default=10,
                    help="seconds of the dnsperf -v latency pass (0: skip)")
    ap.add_argument("--latency-qps", type=int, default=20000,
                    help="query rate of the latency pass (dnsperf -Q)")
    ap.add_argument("--names", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--clients", type=int, default=1, help="dnsperf -c")
    ap.add_argument("--outstanding", type=int, default=100, help="dnsperf -q")
    ap.add_argument("--servers", default="berthd,dnsmasq,aardvark")
    ap.add_argument("--churn", type=int, default=0,
                    help="also measure berthd while N containers come and go")
    ap.add_argument("--out", default="", help="write JSON results here")
    ap.add_argument("--wait-quiet", type=float, default=0,
                    help="before each step, wait up to this many seconds for other workloads "
                         "to use < 0.15 cores")
    ap.add_argument("--check", action="store_true", help="exit 1 if berthd lost any query")
    args = ap.parse_args()
    args.servers = args.servers.split(",")
    if not sandboxed():
        raise SystemExit("refusing to run outside a sandbox: use bench/dns/run.sh")
    if not os.path.exists(AARDVARK) and "aardvark" in args.servers:
        print("note: aardvark-dns not installed (apt-get install aardvark-dns); skipping it",
              file=sys.stderr)
        args.servers.remove("aardvark")
    b = Bench(args)
    try:
        b.setup()
        b.run()
        b.report()
    finally:
        b.cleanup()
    return b.check() if args.check else 0


if __name__ == "__main__":
    sys.exit(main())
