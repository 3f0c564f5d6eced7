#!/usr/bin/env python3
"""Port scaling: the cost of publishing and unpublishing one port as the number of ports already
published grows (issue 6, benchmark 3). berth keeps published ports in nftables maps, so adding
one is an element update whatever is present; the figures should be flat.

    tests/sandbox.sh /usr/bin/python3 bench/port_scaling.py [--present 10,1000,10000] [--reps 30]

Every level gets its own "host" netns and berth state root, filled once with its background
ports (holder containers with up to --per-holder -p each, untimed); the probes then alternate
between the levels, so machine noise hits every level alike. Probes, wall time around the CLI:
  publish    `berth run -d --network bench -p 60000:80 -- sleep` (container + port)
  unpublish  `berth rm -f` of it
  no-port    the same pair without -p, so publish - no-port is the port's own cost
A second table runs build/bench/nft_port_delta (berth's firewall layer alone: one nftables
transaction adding/removing one port's map elements) at the same levels, in a netns of its own.
Writes bench/results/port_scaling.json.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402



class Level:
    def __init__(self, present, work, per_holder):
        self.present = present
        self.per_holder = per_holder
        self.host = bl.Netns(f"ps{present}")
        self.cmd = [bl.BERTH, "--root", os.path.join(work, f"root{present}")]
        self.samples = {k: [] for k in ("publish", "unpublish", "noport_run", "noport_rm")}

    def fill(self):
        t0 = time.perf_counter()
        with self.host.enter():
            bl.sh(*self.cmd, "network", "create", "bench")
            done, h = 0, 0
            while done < self.present:
                n = min(self.per_holder, self.present - done)
                ports = []
                for i in range(n):
                    ports += ["-p", f"{10000 + done + i}:80"]
                bl.sh(*self.cmd, "run", "-d", "--name", f"holder{h}", "--network", "bench",
                      *ports, "--", "sleep", "1000000")
                done, h = done + n, h + 1
            rules = bl.sh("nft", "-a", "list", "table", "inet", "berth").count("\n")
        return time.perf_counter() - t0, rules

    def probe(self):
        with self.host.enter():
            for kind, extra in (("publish", ["-p", "60000:80"]), ("noport_run", [])):
                w, _, _ = bl.timed(self.cmd + ["run", "-d", "--name", "probe", "--network", "bench",
                                               *extra, "--", "sleep", "1000000"])
                self.samples[kind].append(w)
                w, _, _ = bl.timed(self.cmd + ["rm", "-f", "probe"])
                self.samples["unpublish" if kind == "publish" else "noport_rm"].append(w)


def nft_delta(levels):
    binary = os.path.join(bl.BUILD, "bench", "nft_port_delta")
    if not bl.have(binary):
        return None
    ns = bl.Netns("ps-nft")
    try:
        with ns.enter():
            out = bl.sh(binary, *map(str, levels))
    finally:
        ns.delete()
    rows = []
    for line in out.splitlines()[1:]:
        present, add, rm = line.split()
        rows.append({"present": int(present), "add_us": float(add), "remove_us": float(rm)})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--present", default="10,1000,10000")
    ap.add_argument("--reps", type=int, default=30)
    # 200: on main ef5b80e one `run` with ~250+ -p overflows the firewall's element batch
    # buffer (SIGSEGV); see bench/RESULTS.md.
    ap.add_argument("--per-holder", type=int, default=200)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    bl.assert_sandboxed()
    work = tempfile.mkdtemp(prefix="ports-", dir="/run")
    levels = [Level(int(x), work, args.per_holder) for x in args.present.split(",")]
    fill = {}
    for lv in levels:
        secs, rules = lv.fill()
        fill[lv.present] = {"seconds": secs, "nft_list_lines": rules}
        print(f"filled {lv.present} ports in {secs:.1f} s ({rules} lines in `nft list table`)")
    for r in range(args.reps):
        for lv in (levels[r % len(levels):] + levels[:r % len(levels)]):
            lv.probe()
    base = levels[0]
    rows, stats = [], {}
    for lv in levels:
        st = {k: bl.summarize(v) for k, v in lv.samples.items()}
        stats[lv.present] = st
        port_cost = st["publish"]["p50"] - st["noport_run"]["p50"]
        unport_cost = st["unpublish"]["p50"] - st["noport_rm"]["p50"]
        rows.append([lv.present, st["publish"]["p50"], st["publish"]["p95"],
                     st["unpublish"]["p50"], st["unpublish"]["p95"], st["noport_run"]["p50"],
                     st["noport_rm"]["p50"], port_cost, unport_cost,
                     st["publish"]["p50"] / statistics.median(base.samples["publish"]),
                     st["unpublish"]["p50"] / statistics.median(base.samples["unpublish"])])
    print(f"\n### Port scaling, berth CLI (ms, p50 of {args.reps} alternating probes per level)\n")
    print(bl.table(["ports present", "publish p50", "p95", "unpublish p50", "p95",
                    "no-port run p50", "no-port rm p50", "port cost (add)", "port cost (rm)",
                    f"publish x{base.present}", f"unpublish x{base.present}"], rows))
    delta = nft_delta([lv.present for lv in levels])
    if delta:
        b = delta[0]
        print("\n### Port scaling, firewall layer only (nft_port_delta: berth's NftFirewall "
              "applying one port's elements as one transaction, µs, p50 of 200)\n")
        print(bl.table(["ports present", "add p50 µs", "remove p50 µs", f"add x{b['present']}",
                        f"remove x{b['present']}"],
                       [[d["present"], d["add_us"], d["remove_us"], d["add_us"] / b["add_us"],
                         d["remove_us"] / b["remove_us"]] for d in delta]))
    for lv in levels:
        lv.host.delete()
    path = bl.write_json(bl.results_dir(args.out), "port_scaling.json", {
        "machine": bl.machine(), "reps": args.reps, "fill": fill, "stats": stats,
        "nft_port_delta": delta, "raw_ms": {lv.present: lv.samples for lv in levels}})
    print(f"\nJSON: {path}")


if __name__ == "__main__":
    main()
