#!/usr/bin/env python3
"""Multi-host data plane (issue 12): TCP throughput container -> container across simulated
hosts, berth's cluster paths against their anchors, all in the same run.

    tests/sandbox.sh /usr/bin/python3 bench/cluster_dataplane.py [--duration 3] [--reps 3]

The hosts of tests/integration/cluster_world.py (a netns, a state root and a berthd each; a
real etcd), `berth cluster init --backend auto`:
  h1 198.18.0.1, h2 198.18.0.2 on segment br0 (host-gw between them),
  h3 198.18.1.3 on br1, behind the router rt (vxlan from h1),
  g1 198.18.0.11, g3 198.18.1.13: bare hosts (no berth, no nft) on the same segments for the
  VXLAN path built by hand: `ip link add vxh type vxlan` with berth.vxlan's settings (VNI,
  port, learning off, UDP checksums and MTU as `ip -d link` shows them), a Linux bridge and a
  veth "container" at each end (10.244.250.0/24 -> 10.244.251.0/24), routed over it the way
  berth routes (onlink route via the peer's VTEP address, permanent neighbour, fdb entry).
Paths (iperf3, TCP, 1 stream, DURATION s, REPS runs each, alternating):
  underlay-l2     h1 -> h2 host to host          anchor of host-gw
  host-gw         container on h1 -> container on h2
  underlay-routed h1 -> h3 host to host through rt  anchor of vxlan
  vxlan           container on h1 -> container on h3
  vxlan-hand      veth netns on g1 -> hand VXLAN -> veth netns on g3
  vxlan-hand-ct   the same between g5 and g7 (198.18.0.15, 198.18.1.17) with conntrack on
                  (diagnostic: no goal)
Writes cluster_dataplane.json (bench/results/ or --out).
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
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import benchlib as bl  # noqa: E402

IPERF = "iperf3"
HOSTS = {"h1": "198.18.0.1", "h2": "198.18.0.2", "h3": "198.18.1.3"}
HAND = {"g1": ("198.18.0.11", "10.244.250"), "g3": ("198.18.1.13", "10.244.251")}
# The same again with connection tracking on (one `ct state` rule in forward, as any firewall
# has): how much of berth's gap to the hand path conntrack alone explains.
HAND_CT = {"g5": ("198.18.0.15", "10.244.252"), "g7": ("198.18.1.17", "10.244.253")}
CT_RULES = """table inet hand {
 chain forward {
  type filter hook forward priority 0;
  ct state established,related accept
 }
}
"""


def ns_run(ns, *argv):
    return bl.sh("ip", "netns", "exec", ns, *argv)


def hand_vxlan(w, pair, mtu, udp_csum, ct=False):
    """The anchor: the VXLAN path by hand between the two hosts of `pair`, as berth builds its
    own."""
    for g, (ip, _) in pair.items():
        w.add_host(g, ip)
        ns_run(g, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        if ct:
            bl.sh("ip", "netns", "exec", g, "nft", "-f", "-", input=CT_RULES)
    for g, (ip, net) in pair.items():
        ns_run(g, "ip", "link", "add", "vxh", "type", "vxlan", "id", "1", "dstport", "8472",
               "local", ip, "dev", "eth0", "nolearning",
               "udpcsum" if udp_csum else "noudpcsum")
        ns_run(g, "ip", "link", "set", "vxh", "mtu", str(mtu), "up")
        ns_run(g, "ip", "addr", "add", f"{net}.0/32", "dev", "vxh")
    macs = {g: json.loads(bl.sh("ip", "-n", g, "-j", "link", "show", "vxh"))[0]["address"]
            for g in pair}
    for g, (ip, net) in pair.items():
        peer = [k for k in pair if k != g][0]
        peer_ip, peer_net = pair[peer]
        # berth's way: onlink route to the peer's subnet via its VTEP address, a permanent
        # neighbour for that address and an fdb entry sending its MAC to the peer's node IP.
        ns_run(g, "ip", "route", "add", f"{peer_net}.0/24", "via", f"{peer_net}.0", "dev", "vxh",
               "onlink")
        ns_run(g, "ip", "neigh", "add", f"{peer_net}.0", "lladdr", macs[peer], "dev", "vxh",
               "nud", "permanent")
        ns_run(g, "bridge", "fdb", "append", macs[peer], "dev", "vxh", "dst", peer_ip)
        # a bridge and a veth "container" like berth's cluster network
        ns_run(g, "ip", "link", "add", "brh", "type", "bridge")
        ns_run(g, "ip", "link", "set", "brh", "mtu", str(mtu), "up")
        ns_run(g, "ip", "addr", "add", f"{net}.1/24", "dev", "brh")
        c = f"{g}c"
        w.netns(c)
        w.namespaces.append(c)
        bl.sh("ip", "-n", g, "link", "add", "vh", "mtu", str(mtu), "type", "veth", "peer",
              "name", "eth0", "netns", c)
        ns_run(g, "ip", "link", "set", "vh", "master", "brh", "up")
        bl.sh("ip", "-n", c, "link", "set", "eth0", "mtu", str(mtu), "up")
        bl.sh("ip", "-n", c, "addr", "add", f"{net}.2/24", "dev", "eth0")
        bl.sh("ip", "-n", c, "route", "add", "default", "via", f"{net}.1")


def iperf(ns_path, host, duration):
    argv = ["nsenter", f"--net={ns_path}", IPERF, "-c", host, "-t", str(duration), "-J",
            "--connect-timeout", "3000"]
    j = {}
    for _ in range(2):
        r = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 30)
        try:
            j = json.loads(r.stdout)
        except ValueError:
            j = {"error": r.stderr.strip() or "no output"}
        if "error" not in j:
            e = j["end"]
            return {"gbps": e["sum_received"]["bits_per_second"] / 1e9,
                    "retransmits": e["sum_sent"].get("retransmits")}
        time.sleep(1)  # "server is busy" right after the previous run: once more
    return {"error": j["error"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    bl.assert_sandboxed()
    if not bl.have(IPERF) or not bl.have("/usr/bin/etcd"):
        print("skip cluster data plane: iperf3 or etcd-server not installed "
              "(scripts/bootstrap.sh bench installs them)")
        return
    os.environ.setdefault("BERTH_BIN", bl.BERTH)  # cluster_world runs the binary measured
    from cluster_world import CIDR, ETCD, World, b, bj, cip  # noqa: E402 (needs the sandbox)
    tempfile.tempdir = "/run"
    w = World(HOSTS)
    servers, runs, settings = [], {}, {}
    try:
        b("h1", "cluster", "init", "--etcd", ETCD, "--cidr", CIDR, "--backend", "auto")
        for h, ip in HOSTS.items():
            b(h, "cluster", "join", "--etcd", ETCD, "--node", h, "--node-ip", ip)
        for h in ("h2", "h3"):
            b(h, "run", "-d", "--name", "srv", "--network", "cluster", "--", IPERF, "-s")
        b("h1", "run", "-d", "--name", "cli", "--network", "cluster", "--", "sleep", "1000000")
        cli_ns = (lambda j: j[0] if isinstance(j, list) else j)(bj("h1", "inspect", "cli"))[
            "netns"]["path"]
        vx = json.loads(bl.sh("ip", "-n", "h1", "-d", "-j", "link", "show", "berth.vxlan"))[0]
        mtu = vx["mtu"]
        settings = {"berth.vxlan": {k: vx["linkinfo"]["info_data"].get(k) for k in
                                    ("id", "port", "learning", "udp_csum", "ttl", "tos")},
                    "mtu": mtu}
        hand_vxlan(w, HAND, mtu, settings["berth.vxlan"]["udp_csum"])
        hand_vxlan(w, HAND_CT, mtu, settings["berth.vxlan"]["udp_csum"], ct=True)
        hv = json.loads(bl.sh("ip", "-n", "g1", "-d", "-j", "link", "show", "vxh"))[0]
        settings["vxh"] = {k: hv["linkinfo"]["info_data"].get(k) for k in
                           ("id", "port", "learning", "udp_csum", "ttl", "tos")}
        paths = {"underlay-l2": ("/run/netns/h1", HOSTS["h2"]),
                 "host-gw": (cli_ns, cip("h2", "srv")),
                 "underlay-routed": ("/run/netns/h1", HOSTS["h3"]),
                 "vxlan": (cli_ns, cip("h3", "srv")),
                 "vxlan-hand": ("/run/netns/g1c", f"{HAND['g3'][1]}.2"),
                 "vxlan-hand-ct": ("/run/netns/g5c", f"{HAND_CT['g7'][1]}.2")}
        for ns in ("h2", "h3", "g3c", "g7c"):
            servers.append(subprocess.Popen(["ip", "netns", "exec", ns, IPERF, "-s"],
                                            stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL))
        time.sleep(0.5)
        names = list(paths)
        runs = {p: [] for p in names}
        for rep in range(args.reps):
            k = rep % len(names)
            for p in names[k:] + names[:k]:
                runs[p].append(iperf(*paths[p], args.duration))
    finally:
        for p in servers:
            p.kill()
            p.wait()
        w.close()
    med = {p: statistics.median([r["gbps"] for r in rs if "gbps" in r])
           if any("gbps" in r for r in rs) else None for p, rs in runs.items()}
    ratio = lambda a, c: med[a] / med[c] if med.get(a) and med.get(c) else None
    ratios = {"host-gw / underlay-l2": (ratio("host-gw", "underlay-l2"), 0.95),
              "vxlan / underlay-routed": (ratio("vxlan", "underlay-routed"), 0.85),
              "vxlan / vxlan-hand": (ratio("vxlan", "vxlan-hand"), 0.97),
              "vxlan / vxlan-hand-ct": (ratio("vxlan", "vxlan-hand-ct"), None)}
    rows = []
    for p, rs in runs.items():
        ok = [r for r in rs if "gbps" in r]
        errs = [r["error"] for r in rs if "error" in r]
        rows.append([p, med[p], ", ".join(f"{r['gbps']:.2f}" for r in ok) or "-",
                     statistics.median([r["retransmits"] or 0 for r in ok]) if ok else None,
                     errs[0][:60] if errs else ""])
    print(f"\n### Multi-host data plane (iperf3, TCP, 1 stream, {args.duration} s, median of "
          f"{args.reps}, Gbit/s; MTU {settings.get('mtu')} on the overlays)\n")
    print(bl.table(["path", "Gbit/s", "runs", "retransmits", "error"], rows))
    print()
    print(bl.table(["ratio", "value", "goal", "met"],
                   [[k, v, f">= {g}" if g else "-",
                     "-" if v is None or g is None else ("yes" if v >= g else "no")]
                    for k, (v, g) in ratios.items()]))
    print(f"\nberth.vxlan: {settings.get('berth.vxlan')}\nvxh (by hand): {settings.get('vxh')}")
    path = bl.write_json(bl.results_dir(args.out), "cluster_dataplane.json", {
        "machine": bl.machine(), "duration_s": args.duration, "reps": args.reps,
        "settings": settings, "median_gbps": med,
        "ratios": {k: v for k, (v, _) in ratios.items()}, "runs": runs})
    print(f"JSON: {path}")


if __name__ == "__main__":
    main()
