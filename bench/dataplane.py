#!/usr/bin/env python3
"""Data plane: TCP throughput of the paths a container's traffic takes, berth's against the same
path built by hand, in the same run (issue 6, benchmark 4).

    tests/sandbox.sh /usr/bin/python3 bench/dataplane.py [--duration 10] [--reps 3]

iperf3, TCP, 1 stream, DURATION s, REPS runs per path, the paths alternating within each rep;
the table shows the median receiver throughput and its ratio to loopback. Topology (all inside
the sandbox; outside-world addresses from 203.0.113.0/24 and 198.18.0.0/24 only):
  loopback      iperf3 client and server on 127.0.0.1 in one netns (the limit)
  veth          two netns on one veth pair (198.18.0.1 -> .2)
  bridge-hand   container -> plain Linux bridge -> container (hand-made veths, 10.77.0.0/24)
  bridge-berth  container -> berth bridge -> container (`berth run` on a user network)
  dnat-hand     LAN client netns (203.0.113.2) -> host -> one hand-written nft DNAT rule ->
                container on the hand-made bridge
  dnat-berth    LAN client netns -> host -> berth published port (-p 8080:5201) -> container
  localhost     the berth host itself -> 127.0.0.1:8080 (berth's published port via output DNAT)
  socat         LAN client -> socat on the host (default 8 KiB buffer) -> container
                (docker-proxy stand-in)
  socat-64k     the same with socat -b 65536 (closer to docker-proxy's 32 KiB copy buffer)
Berth's paths and the hand-made ones live in separate host netns, so neither sees the other's
nftables rules. Writes bench/results/dataplane.json.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

IPERF = "iperf3"


def veth(ns_a, if_a, ip_a, ns_b, if_b, ip_b):
    bl.sh("ip", "link", "add", if_a, "netns", ns_a.name, "type", "veth", "peer", "name", if_b,
          "netns", ns_b.name)
    for ns, ifn, ip in ((ns_a, if_a, ip_a), (ns_b, if_b, ip_b)):
        if ip:
            bl.sh("ip", "-n", ns.name, "addr", "add", ip, "dev", ifn)
        bl.sh("ip", "-n", ns.name, "link", "set", ifn, "up")


class Bench:
    def __init__(self, work, duration):
        self.work = work
        self.duration = duration
        self.procs = []
        self.netns = []
        self.paths = {}  # name -> (netns path to run the client in, host, port)

    def ns(self, name):
        n = bl.Netns(name)
        self.netns.append(n)
        return n

    def server(self, ns, *argv):
        with ns.enter():
            p = subprocess.Popen([*argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def build(self, want):
        # loopback and veth
        lo = self.ns("dp-lo")
        self.server(lo, IPERF, "-s", "-p", "5201")
        self.paths["loopback"] = (lo.path, "127.0.0.1", 5201)
        va, vb = self.ns("dp-va"), self.ns("dp-vb")
        veth(va, "va0", "198.18.0.1/24", vb, "vb0", "198.18.0.2/24")
        self.server(vb, IPERF, "-s", "-p", "5201")
        self.paths["veth"] = (va.path, "198.18.0.2", 5201)

        # by hand: bridge + 2 veths, one DNAT rule, a LAN client
        hh = self.ns("dp-hand")
        hs, hc, hl = self.ns("dp-hsrv"), self.ns("dp-hcli"), self.ns("dp-hlan")
        hh.run("ip", "link", "add", "br-hand", "type", "bridge")
        hh.run("ip", "addr", "add", "10.77.0.1/24", "dev", "br-hand")
        hh.run("ip", "link", "set", "br-hand", "up")
        hh.run("sysctl", "-qw", "net.ipv4.ip_forward=1")
        for ns, ifn, ip in ((hs, "hs", "10.77.0.2/24"), (hc, "hc", "10.77.0.3/24")):
            veth(hh, ifn, None, ns, "eth0", ip)
            hh.run("ip", "link", "set", ifn, "master", "br-hand")
            ns.run("ip", "route", "add", "default", "via", "10.77.0.1")
        veth(hh, "lan0", "203.0.113.1/24", hl, "eth0", "203.0.113.2/24")
        with hh.enter():
            bl.sh("nft", "-f", "-", input="table ip hand {\n chain pre {\n  type nat hook "
                  "prerouting priority -100;\n  tcp dport 8080 dnat to 10.77.0.2:5201\n }\n}\n")
        self.server(hs, IPERF, "-s", "-p", "5201")
        self.paths["bridge-hand"] = (hc.path, "10.77.0.2", 5201)
        self.paths["dnat-hand"] = (hl.path, "203.0.113.1", 8080)

        # berth: a user network, a server container publishing 8080, a client container
        if bl.have(bl.BERTH):
            bh, bln = self.ns("dp-berth"), self.ns("dp-blan")
            cmd = [bl.BERTH, "--root", os.path.join(self.work, "berth")]
            with bh.enter():
                bl.sh(*cmd, "network", "create", "dp")
                bl.sh(*cmd, "run", "-d", "--name", "srv", "--network", "dp", "-p", "8080:5201",
                      "--", IPERF, "-s", "-p", "5201")
                bl.sh(*cmd, "run", "-d", "--name", "cli", "--network", "dp", "--", "sleep",
                      "1000000")
                info = lambda n: (lambda j: j[0] if isinstance(j, list) else j)(
                    json.loads(bl.sh(*cmd, "inspect", n)))
                srv_ip = info("srv")["networks"]["dp"]["ip"]
                cli_ns = info("cli")["netns"]["path"]
            veth(bh, "lan0", "203.0.113.1/24", bln, "eth0", "203.0.113.2/24")
            self.paths["bridge-berth"] = (cli_ns, srv_ip, 5201)
            self.paths["dnat-berth"] = (bln.path, "203.0.113.1", 8080)
            self.paths["localhost"] = (bh.path, "127.0.0.1", 8080)
            if bl.have("socat"):
                self.server(bh, "socat", "TCP-LISTEN:8081,fork,reuseaddr", f"TCP:{srv_ip}:5201")
                self.server(bh, "socat", "-b", "65536", "TCP-LISTEN:8082,fork,reuseaddr",
                            f"TCP:{srv_ip}:5201")
                self.paths["socat"] = (bln.path, "203.0.113.1", 8081)
                self.paths["socat-64k"] = (bln.path, "203.0.113.1", 8082)
        if want:
            self.paths = {k: v for k, v in self.paths.items() if k in want}
        time.sleep(0.5)  # servers listening

    def run(self, path):
        ns, host, port = self.paths[path]
        argv = ["nsenter", f"--net={ns}", IPERF, "-c", host, "-p", str(port), "-t",
                str(self.duration), "-J", "--connect-timeout", "3000"]
        for attempt in range(2):
            r = subprocess.run(argv, capture_output=True, text=True, timeout=self.duration + 30)
            try:
                j = json.loads(r.stdout)
            except ValueError:
                j = {"error": r.stderr.strip() or "no output"}
            if "error" not in j:
                end = j["end"]
                return {"gbps": end["sum_received"]["bits_per_second"] / 1e9,
                        "retransmits": end["sum_sent"].get("retransmits")}
            time.sleep(1)  # "server is busy" right after the previous test: once more
        return {"error": j["error"]}

    def stop(self):
        for p in self.procs:  # only what this benchmark started, by PID
            p.kill()
            p.wait()
        for n in self.netns:
            n.delete()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--paths", default="", help="comma-separated subset")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    bl.assert_sandboxed()
    if not bl.have(IPERF):
        print("skip data plane: iperf3 not installed (scripts/bootstrap.sh bench installs it)")
        return
    b = Bench(tempfile.mkdtemp(prefix="dp-", dir="/run"), args.duration)
    runs = {}
    try:
        b.build([p for p in args.paths.split(",") if p])
        names = list(b.paths)
        runs = {p: [] for p in names}
        for rep in range(args.reps):
            k = rep % len(names)
            for p in names[k:] + names[:k]:
                runs[p].append(b.run(p))
    finally:
        b.stop()
    med = {p: statistics.median([r["gbps"] for r in rs if "gbps" in r]) if any(
        "gbps" in r for r in rs) else None for p, rs in runs.items()}
    lo = med.get("loopback")
    pairs = {"bridge-berth": "bridge-hand", "dnat-berth": "dnat-hand"}
    rows = []
    for p, rs in runs.items():
        ok = [r for r in rs if "gbps" in r]
        errs = [r["error"] for r in rs if "error" in r]
        vs = med[p] / med[pairs[p]] if p in pairs and med[p] and med.get(pairs[p]) else None
        rows.append([p, med[p], ", ".join(f"{r['gbps']:.2f}" for r in ok) or "-",
                     med[p] / lo if med[p] and lo else None, vs,
                     statistics.median([r["retransmits"] or 0 for r in ok]) if ok else None,
                     errs[0][:60] if errs else ""])
    print(f"\n### Data plane (iperf3, TCP, 1 stream, {args.duration} s, median of {args.reps}, "
          "Gbit/s; x hand = berth / the same path by hand)\n")
    print(bl.table(["path", "Gbit/s", "runs", "x loopback", "x hand", "retransmits", "error"],
                   rows))
    path = bl.write_json(bl.results_dir(args.out), "dataplane.json", {
        "machine": bl.machine(), "duration_s": args.duration, "reps": args.reps,
        "median_gbps": med, "runs": runs})
    print(f"\nJSON: {path}")


if __name__ == "__main__":
    main()
