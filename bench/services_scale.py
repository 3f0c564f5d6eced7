#!/usr/bin/env python3
"""Services at scale (issue 13): the cost of creating and removing one service (3 backends)
with N services present, berth against kube-proxy's iptables mode in the same run.

    tests/sandbox.sh /usr/bin/python3 bench/services_scale.py [--present 10,1000] [--reps 10]

berth keeps services in one verdict map (VIP . protocol . port : goto the service's chain)
plus per-service chains, so one service is one transaction of element and chain updates
whatever else exists. The anchor is the shape kube-proxy's iptables mode writes: a
KUBE-SERVICES chain with one rule per service, a KUBE-SVC chain per service with `statistic
mode random` per endpoint and a KUBE-SEP chain per endpoint, changed with `iptables-restore
--noflush` rewriting KUBE-SERVICES (as kube-proxy does on each sync).

Every level gets its own netns (berth: state root, network with 3 labelled backend containers,
N services selecting them, created untimed through the CLI; anchor: the same N services loaded
once). The probes alternate between levels, so machine noise hits every level alike. Probes,
wall time around the process:
  berth create   `berth service create probe ...`      berth rm   `berth service rm probe`
  ipt create     iptables-restore --noflush adding it   ipt rm     ... removing it
Writes bench/results/services_scale.json.
"""

import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

BERTH = os.environ.get("BERTH_BIN", os.path.join(bl.HERE, "..", "build", "berth"))


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
    def __init__(self, n, tmp):
        self.n = n
        self.ns = bl.Netns(f"svc{n}")
        self.root = os.path.join(tmp, f"root{n}")
        self.berth = ["ip", "netns", "exec", self.ns.name, BERTH, "--root", self.root]
        bl.sh(*self.berth, "network", "create", "bench", "-o", "dns=false")
        for b in range(3):
            bl.sh(*self.berth, "run", "-d", "--name", f"b{b}", "--network", "bench",
                  "--label", "app=web", "--", "sleep", "3600")
        for i in range(n):
            bl.sh(*self.berth, "service", "create", f"s{i}", "--network", "bench",
                  "--selector", "app=web", "--port", "80:8080", "--vip", vip(i))
        self.ipt_ns = bl.Netns(f"ipt{n}")
        lines, body = ipt_rules(n, False)
        bl.sh("ip", "netns", "exec", self.ipt_ns.name, "iptables-restore",
              input="\n".join(lines + body + ["COMMIT", ""]))
        self.ipt_add, self.ipt_rm = ipt_probe_files(n, tmp)

    def probe(self):
        out = {}
        create = self.berth + ["service", "create", "probe", "--network", "bench", "--selector",
                               "app=web", "--port", "80:8080", "--vip", vip(self.n)]
        out["berth create"] = bl.timed(create)[0]
        out["berth rm"] = bl.timed(self.berth + ["service", "rm", "probe"])[0]
        ipt = ["ip", "netns", "exec", self.ipt_ns.name, "iptables-restore", "--noflush"]
        out["ipt create"] = bl.timed(ipt + [self.ipt_add])[0]
        out["ipt rm"] = bl.timed(ipt + [self.ipt_rm])[0]
        return out

    def close(self):
        bl.sh(*self.berth, "rm", "-f", "b0", "b1", "b2", check=False)
        self.ns.delete()
        self.ipt_ns.delete()


def main():
    bl.assert_sandboxed()
    ap = argparse.ArgumentParser()
    ap.add_argument("--present", default="10,1000")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--out")
    args = ap.parse_args()
    sizes = [int(x) for x in args.present.split(",")]
    tmp = tempfile.mkdtemp(prefix="svcbench")
    levels = []
    try:
        for n in sizes:
            print(f"filling level {n} ...", file=sys.stderr, flush=True)
            levels.append(Level(n, tmp))
        samples = {n: {} for n in sizes}
        for _ in range(args.reps):
            for lv in levels:
                for k, v in lv.probe().items():
                    samples[lv.n].setdefault(k, []).append(v)
    finally:
        for lv in levels:
            lv.close()
    kinds = ["berth create", "berth rm", "ipt create", "ipt rm"]
    rows = []
    base = sizes[0]
    for n in sizes:
        row = [n]
        for k in kinds:
            p50 = statistics.median(samples[n][k])
            row += [p50, p50 / statistics.median(samples[base][k])]
        rows.append(row)
    headers = ["present"]
    for k in kinds:
        headers += [f"{k} p50 ms", f"x vs {base}"]
    print(bl.table(headers, rows))
    path = bl.write_json(bl.results_dir(args.out), "services_scale.json",
                         {"machine": bl.machine(), "reps": args.reps,
                          "samples_ms": {str(n): samples[n] for n in sizes}})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
