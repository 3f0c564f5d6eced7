#!/usr/bin/env python3
"""Services at scale (issue 13): with N services of 3 backends present, what creating and
removing one more costs, and what a new connection through one service costs, berth against
kube-proxy's iptables mode in the same run.

    tests/sandbox.sh /usr/bin/python3 bench/services_scale.py [--present 10,1000,10000] [--reps 7]

berth keeps services in one verdict map (VIP . protocol . port : goto the service's chain)
plus per-service chains; one service is one libnftnl batch of chains, rules and elements
whatever else exists. The anchor is the shape kube-proxy's iptables mode writes: a
KUBE-SERVICES chain with one rule per service, a KUBE-SVC chain per service with `statistic
mode random` per endpoint and a KUBE-SEP chain per endpoint, changed with `iptables-restore
--noflush` rewriting KUBE-SERVICES (as kube-proxy does on each sync).

Every level gets its own netns (berth: state root, network with 3 labelled backend containers
answering TCP on 8080 and a client container; N services selecting the backends, written to
the store in bulk by build/bench/services_fill and put in the kernel by one `berth system
reconcile`; anchor: the same N services loaded once). The probes alternate between levels, so
machine noise hits every level alike. Per level:
  berth create / rm   wall time of `berth service create probe ...` / `berth service rm probe`
  ipt create / rm     wall time of iptables-restore --noflush adding / removing the probe
  connect             p50 time of a TCP connect (SYN to SYN-ACK, through the DNAT) from the
                      client to the VIP of service s0: the first-packet latency
  tx create / rm      the firewall transaction alone (build/bench/nft_service_delta, in
                      process, its own netns per N)
Writes bench/results/services_scale.json.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

BERTH = os.environ.get("BERTH_BIN", os.path.join(bl.BUILD, "berth"))
FILL = os.path.join(bl.BUILD, "bench", "services_fill")
DELTA = os.path.join(bl.BUILD, "bench", "nft_service_delta")

# A backend: accept and close, forever (python: the kernel answers the SYN, so the server's
# speed does not enter the connect time).
SERVER = ("import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
          "s.bind(('',8080))\ns.listen(1024)\nwhile True:\n c,_=s.accept()\n c.close()\n")
# The client: COUNT connects to VIP:80, each timed from connect() to its return, in us.
CLIENT = ("import socket,sys,time,json\nvip,count=sys.argv[1],int(sys.argv[2])\nout=[]\n"
          "for _ in range(count):\n s=socket.socket()\n t=time.perf_counter_ns()\n"
          " s.connect((vip,80))\n out.append((time.perf_counter_ns()-t)/1000)\n s.close()\n"
          "print(json.dumps(out))\n")


def vip(i):
    return f"10.96.{(i + 10) // 250}.{(i + 10) % 250 + 1}"


def ipt_rules(n, with_probe):
    """kube-proxy iptables-mode nat table for n services (+ the probe), 3 endpoints each."""
    eps = ["172.18.0.2", "172.18.0.3", "172.18.0.4"]
    names = [f"S{i:05d}" for i in range(n)] + (["PROBE"] if with_probe else [])
    lines = ["*nat", ":KUBE-SERVICES - [0:0]"]
    body = []
    for k, name in enumerate(names):
        lines.append(f":KUBE-SVC-{name} - [0:0]")
        addr = vip(n if name == "PROBE" else k)
        body.append(f"-A KUBE-SERVICES -d {addr}/32 -p tcp --dport 80 -j KUBE-SVC-{name}")
        for j, ep in enumerate(eps):
            lines.append(f":KUBE-SEP-{name}-{j} - [0:0]")
            left = len(eps) - j
            stat = (f"-m statistic --mode random --probability {1 / left:.11f} "
                    if left > 1 else "")
            body.append(f"-A KUBE-SVC-{name} {stat}-j KUBE-SEP-{name}-{j}")
            body.append(f"-A KUBE-SEP-{name}-{j} -s {ep}/32 -j MARK --set-xmark 0x4000/0x4000")
            body.append(f"-A KUBE-SEP-{name}-{j} -p tcp -j DNAT --to-destination {ep}:8080")
    return lines, body


def ipt_probe_files(n, tmp):
    """The two --noflush inputs: add the probe, remove it (KUBE-SERVICES rewritten both times)."""
    lines, body = ipt_rules(n, True)
    add = os.path.join(tmp, f"add-{n}")
    with open(add, "w") as f:
        f.write("\n".join(lines + body + ["COMMIT", ""]))
    services = [b for b in body if b.startswith("-A KUBE-SERVICES") and "PROBE" not in b]
    probe_chains = [ln[1:].split()[0] for ln in lines if "PROBE" in ln]
    rm = os.path.join(tmp, f"rm-{n}")
    with open(rm, "w") as f:
        f.write("\n".join(["*nat", ":KUBE-SERVICES - [0:0]"] +
                          [f":{c} - [0:0]" for c in probe_chains] + services +
                          [f"-X {c}" for c in probe_chains] + ["COMMIT", ""]))
    return add, rm


class Level:
    def __init__(self, n, tmp, anchor_max):
        self.n = n
        self.ns = bl.Netns(f"svc{n}")
        self.root = os.path.join(tmp, f"root{n}")
        self.berth = ["ip", "netns", "exec", self.ns.name, BERTH, "--root", self.root]
        bl.sh(*self.berth, "network", "create", "bench", "-o", "dns=false")
        for b in range(3):
            bl.sh(*self.berth, "run", "-d", "--name", f"b{b}", "--network", "bench",
                  "--label", "app=web", "--", "python3", "-c", SERVER)
        bl.sh(*self.berth, "run", "-d", "--name", "client", "--network", "bench", "--",
              "sleep", "3600")
        bl.sh(FILL, self.root, "bench", n)
        bl.sh(*self.berth, "system", "reconcile")
        # The anchor stops where one of its probes would take minutes (iptables-nft rewriting
        # KUBE-SERVICES with 10,000 rules took more than 4 min per probe on this machine).
        self.ipt_ns = None
        if n <= anchor_max:
            self.ipt_ns = bl.Netns(f"ipt{n}")
            lines, body = ipt_rules(n, False)
            bl.sh("ip", "netns", "exec", self.ipt_ns.name, "iptables-restore",
                  input="\n".join(lines + body + ["COMMIT", ""]))
            self.ipt_add, self.ipt_rm = ipt_probe_files(n, tmp)
        self.connect([])  # warm up: the backends are listening, ARP is resolved

    def probe(self):
        out = {}
        create = self.berth + ["service", "create", "probe", "--network", "bench", "--selector",
                               "app=web", "--port", "80:8080", "--vip", vip(self.n)]
        out["berth create"] = bl.timed(create)[0]
        out["berth rm"] = bl.timed(self.berth + ["service", "rm", "probe"])[0]
        if self.ipt_ns:
            ipt = ["ip", "netns", "exec", self.ipt_ns.name, "iptables-restore", "--noflush"]
            out["ipt create"] = bl.timed(ipt + [self.ipt_add])[0]
            out["ipt rm"] = bl.timed(ipt + [self.ipt_rm])[0]
        return out

    def connect(self, into, count=200):
        out = bl.sh(*self.berth, "exec", "client", "--", "python3", "-c", CLIENT, vip(0), count)
        into.extend(json.loads(out))

    def close(self):
        # The services go first (from the store; the netns takes their nft objects along), so
        # the backends leaving do not refill N services' chains on the way out.
        bl.sh(FILL, self.root, "bench", "clear", check=False)
        bl.sh(*self.berth, "rm", "-f", "b0", "b1", "b2", "client", check=False)
        self.ns.delete()
        if self.ipt_ns:
            self.ipt_ns.delete()


def transactions(sizes):
    """The in-process transaction figures, one netns for all sizes (each size builds its own
    table over the previous one)."""
    ns = bl.Netns("svctx")
    try:
        out = bl.sh("ip", "netns", "exec", ns.name, DELTA, *sizes)
    finally:
        ns.delete()
    return {r["present"]: r for r in map(json.loads, out.splitlines())}


def main():
    bl.assert_sandboxed()
    ap = argparse.ArgumentParser()
    ap.add_argument("--present", default="10,1000,10000")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--anchor-max", type=int, default=1000,
                    help="no iptables anchor above this many services")
    ap.add_argument("--out")
    args = ap.parse_args()
    sizes = [int(x) for x in args.present.split(",")]
    machine = bl.machine()
    tmp = tempfile.mkdtemp(prefix="svcbench")
    levels = []
    samples = {n: {} for n in sizes}
    connects = {n: [] for n in sizes}
    try:
        for n in sizes:
            print(f"filling level {n} ...", file=sys.stderr, flush=True)
            levels.append(Level(n, tmp, args.anchor_max))
        for _ in range(args.reps):
            for lv in levels:
                for k, v in lv.probe().items():
                    samples[lv.n].setdefault(k, []).append(v)
                lv.connect(connects[lv.n])
    finally:
        for lv in levels:
            lv.close()
    print("transactions in process ...", file=sys.stderr, flush=True)
    tx = transactions(sizes)
    base = sizes[0]

    kinds = ["berth create", "berth rm", "ipt create", "ipt rm"]
    rows = []
    for n in sizes:
        row = [n]
        for k in kinds:
            if k not in samples[n]:
                row += [None, None]
                continue
            p50 = statistics.median(samples[n][k])
            row += [p50, p50 / statistics.median(samples[base][k])]
        rows.append(row)
    headers = ["present"]
    for k in kinds:
        headers += [f"{k} p50 ms", f"x vs {base}"]
    print("Whole commands (wall, process start included):")
    print(bl.table(headers, rows))

    rows = []
    for n in sizes:
        t, t0 = tx[n], tx[base]
        rows.append([n, t["create_us"] / 1000, t["create_us"] / t0["create_us"],
                     t["remove_us"] / 1000, t["remove_us"] / t0["remove_us"],
                     t["create_affinity_us"] / 1000, t["remove_affinity_us"] / 1000,
                     t["check_us"] / 1000,
                     t["libnftables_create_us"] / 1000, t["libnftables_remove_us"] / 1000])
    print("\nThe firewall transaction alone (in process, p50 ms):")
    print(bl.table(["present", "create", f"x vs {base}", "remove", f"x vs {base}",
                    "create (affinity)", "remove (affinity)", "check, nothing moved",
                    "libnftables create", "libnftables remove"], rows))

    rows = []
    c0 = statistics.median(connects[base])
    for n in sizes:
        c = statistics.median(connects[n])
        rows.append([n, len(connects[n]), c, bl.pct(connects[n], 95), c / c0])
    print("\nFirst packet: TCP connect to a service VIP (us):")
    print(bl.table(["present", "connects", "p50 us", "p95 us", f"x vs {base}"], rows))

    path = bl.write_json(bl.results_dir(args.out), "services_scale.json",
                         {"machine": machine, "machine_after": bl.machine(), "reps": args.reps,
                          "samples_ms": {str(n): samples[n] for n in sizes},
                          "connect_us": {str(n): connects[n] for n in sizes},
                          "transactions": {str(n): tx[n] for n in sizes}})
    print(f"\nmachine: {machine}\nwrote {path}")


if __name__ == "__main__":
    main()
