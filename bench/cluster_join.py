#!/usr/bin/env python3
"""Multi-host control plane (issue 12): how fast a cluster converges, what its agent costs, all
on simulated nodes in one run.

    tests/sandbox.sh /usr/bin/python3 bench/cluster_join.py [--nodes 20] [--reps 10]

NODES simulated hosts of tests/integration/cluster_world.py (a netns, a state root and a
berthd each) at 198.18.2.1-NODES on one segment, a real etcd at 198.18.0.254 behind a router,
`berth cluster init --backend auto` (host-gw: one L2 segment). Measured:
  join      node i joins (`berth cluster join` started) -> the route to its subnet is in the
            kernel of every node already joined (`ip -t monitor route` on each, kernel time)
  name      `berth run --name wK` on node 1 -> node 2's berthd answers wK (a DNS poller in a
            container on node 2, a query every ~5 ms)
  event     one node event (a node record put, then deleted, in etcd by hand: a vxlan peer
            with a route, an FDB entry and a neighbour) when 5, 20, 50 (up to NODES) nodes are
            in: put -> route in node 1's kernel, and the CPU every agent spends on it (all
            berthds' threads, /proc/PID/task/*/schedstat, less their idle rate measured just
            before), per agent per event: flat when an event costs the same at any size
  rss       VmRSS of every node's berthd with all NODES nodes joined
  run       `berth run -d` on the cluster network vs on a local network (alternating)
  etcd      the anchor: there is no flannel (nor any other overlay agent) here, so the floor
            of a join is etcd itself: a put from node 1 -> the event on a watch from node 2,
            over etcd's HTTP gateway on kept-alive connections, measured in the same run
Writes cluster_join.json (bench/results/ or --out).
"""

import argparse
import base64
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import benchlib as bl  # noqa: E402


class At:
    """Runs the calling thread in a simulated host's (or a container's) network namespace."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        self.saved = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        bl.setns(fd)
        os.close(fd)

    def __exit__(self, *exc):
        bl.setns(self.saved)
        os.close(self.saved)


def stats(xs):
    return {"n": len(xs), "p50": statistics.median(xs), "p95": bl.pct(xs, 95),
            "max": max(xs)} if xs else None


def route_times(path, subnet):
    """Kernel times (epoch s) of `ip -t monitor route` lines adding a route to `subnet`."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None
    ts = None
    for line in text.splitlines():
        m = re.match(r"Timestamp: (.+?) (\d+) usec", line)  # local time, as ctime(3)
        if m:
            ts = time.mktime(time.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")) + \
                int(m.group(2)) / 1e6
        elif line.startswith(subnet + " ") and ts is not None:
            return ts
    return None


def etcd_floor(etcd_host, a, b_, reps):
    """put on node a -> watch event on node b, and the put's own round trip (ms)."""
    key = base64.b64encode(b"/bench/floor").decode()
    got, lat, put = threading.Event(), [], []
    ready = threading.Event()

    def watch():
        with At(f"/run/netns/{b_}"):
            c = http.client.HTTPConnection(etcd_host, 2379, timeout=30)
            c.request("POST", "/v3/watch", json.dumps({"create_request": {"key": key}}))
            r = c.getresponse()
            ready.set()
            while True:
                line = r.readline()
                if not line:
                    return
                if b'"events"' in line:
                    got.set()
    t = threading.Thread(target=watch, daemon=True)
    t.start()
    ready.wait(10)
    time.sleep(0.2)
    with At(f"/run/netns/{a}"):
        c = http.client.HTTPConnection(etcd_host, 2379, timeout=10)
        for i in range(reps + 1):
            got.clear()
            t0 = time.perf_counter()
            c.request("POST", "/v3/kv/put", json.dumps(
                {"key": key, "value": base64.b64encode(str(i).encode()).decode()}))
            c.getresponse().read()
            t1 = time.perf_counter()
            if not got.wait(5):
                raise RuntimeError("etcd watch saw no event")
            t2 = time.perf_counter()
            if i:  # the first one warms the connections up
                put.append((t1 - t0) * 1000)
                lat.append((t2 - t0) * 1000)
            time.sleep(0.02)
    return lat, put



def cpu_ns(pids):
    """CPU time (ns) every thread of `pids` ran so far."""
    total = 0
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    return total


def smaps_by_file(pid):
    """Resident kB of one process by what backs it: each file, [anon] (heap, stacks, anonymous
    mappings and the private dirty pages of relocated libraries count where smaps puts them)."""
    out, name = {}, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                name = parts[5] if len(parts) > 5 and parts[5].startswith("/") else "[anon]"
                if len(parts) > 5 and parts[5].startswith("["):
                    name = "[anon]"
            elif parts[0] in ("Rss:",):
                out.setdefault(name, {"rss": 0, "anon": 0})["rss"] += int(parts[1])
            elif parts[0] == "Anonymous:":
                out.setdefault(name, {"rss": 0, "anon": 0})["anon"] += int(parts[1])
    return dict(sorted(out.items(), key=lambda kv: -kv[1]["rss"]))


def put_json(c, key, value=None):
    """A put (value) or a delete (None) over etcd's HTTP gateway on kept-alive connection c."""
    k = base64.b64encode(key.encode()).decode()
    if value is None:
        c.request("POST", "/v3/kv/deleterange", json.dumps({"key": k}))
    else:
        c.request("POST", "/v3/kv/put", json.dumps(
            {"key": k, "value": base64.b64encode(value.encode()).decode()}))
    r = c.getresponse()
    body = r.read()
    if r.status != 200:
        raise RuntimeError(f"etcd {r.status}: {body!r}")


def route_event_time(path, subnet, deleted, after):
    """Kernel time of the first `ip -t monitor route` line adding (or deleting) `subnet`
    stamped after `after`."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None
    ts = None
    want = ("Deleted " if deleted else "") + subnet + " "
    for line in text.splitlines():
        m = re.match(r"Timestamp: (.+?) (\d+) usec", line)
        if m:
            ts = time.mktime(time.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")) + \
                int(m.group(2)) / 1e6
        elif line.startswith(want) and ts is not None and ts >= after:
            return ts
    return None


def node_events(etcd_host, first, mon, pids, taken, k_events):
    """k_events node records put and deleted by hand (each a vxlan peer) while `pids` (every
    joined node's berthd) run: put -> route on `first`, and the agents' CPU per event."""
    free = [f"10.244.{i}.0/24" for i in range(255, 0, -1) if f"10.244.{i}.0/24" not in taken]
    with At(f"/run/netns/{first}"):
        c = http.client.HTTPConnection(etcd_host, 2379, timeout=10)
        put_json(c, "/bench/warm", "1")
        # The agents' idle rate (heartbeats, the periodic repair), measured just before.
        time.sleep(0.5)
        c0, t0 = cpu_ns(pids), time.perf_counter()
        time.sleep(3)
        idle_rate = (cpu_ns(pids) - c0) / (time.perf_counter() - t0)
        lat_add, lat_del = [], []
        c0, t0 = cpu_ns(pids), time.perf_counter()
        for k in range(k_events):
            subnet = free[k]
            rec = {"name": f"ev{k}", "node_ip": f"198.18.9.{k + 1}", "subnet": subnet,
                   "vtep_mac": "02:00:00:00:09:%02x" % (k + 1), "backend": "auto", "mtu": 1450}
            for deleted in (False, True):
                t_put = time.time()
                put_json(c, f"/berth/nodes/ev{k}", None if deleted else json.dumps(rec))
                end = t_put + 10
                ts = None
                while ts is None and time.time() < end:
                    time.sleep(0.005)
                    ts = route_event_time(mon, subnet, deleted, t_put - 0.001)
                if ts is None:
                    raise RuntimeError(f"node event ev{k}: no route {'del' if deleted else 'add'}")
                (lat_del if deleted else lat_add).append((ts - t_put) * 1000)
            # Every agent has had this event too (they run on the same 2 cores).
            time.sleep(0.15)
        busy = cpu_ns(pids) - c0 - idle_rate * (time.perf_counter() - t0)
    n_ev = 2 * k_events
    return {"agents": len(pids), "events": n_ev, "put_to_route_ms": lat_add,
            "delete_to_route_gone_ms": lat_del,
            "cpu_ms_per_agent_per_event": busy / 1e6 / n_ev / len(pids),
            "idle_cpu_ms_per_agent_per_s": idle_rate / 1e6 / len(pids)}

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, default=20)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--events", type=int, default=10, help="node events per size (put + delete)")
    ap.add_argument("--sizes", default="5,20,50", help="cluster sizes the events are measured at")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    bl.assert_sandboxed()
    if not bl.have("/usr/bin/etcd"):
        print("skip cluster join: etcd-server not installed (scripts/bootstrap.sh installs it)")
        return
    os.environ.setdefault("BERTH_BIN", bl.BERTH)  # cluster_world runs the binary measured
    import dnsq  # noqa: E402 (tests/integration; needs the sandbox)
    from cluster_world import CIDR, ETCD, ETCD_IP, World, b, berthd_pid, bj, root_of  # noqa
    tempfile.tempdir = "/run"
    n = args.nodes
    hosts = {f"n{i:02d}": f"198.18.2.{i}" for i in range(1, n + 1)}
    names = list(hosts)
    w = World(hosts)
    mon_dir = tempfile.mkdtemp(prefix="cj-mon-")
    monitors, res = [], {"nodes": n, "events": []}
    sizes = sorted({min(int(x), n) for x in args.sizes.split(",") if int(x) >= 2})
    try:
        for h in names:
            f = open(os.path.join(mon_dir, h), "w")
            monitors.append(subprocess.Popen(["ip", "-t", "-n", h, "monitor", "route"],
                                             stdout=f, stderr=subprocess.DEVNULL))
            f.close()
        time.sleep(0.3)
        b(names[0], "cluster", "init", "--etcd", ETCD, "--cidr", CIDR, "--backend", "auto")
        join_lat, join_exit, join_cmd = [], [], []
        for i, h in enumerate(names):
            t0 = time.time()
            out = b(h, "cluster", "join", "--etcd", ETCD, "--node", h, "--node-ip",
                    hosts[h]).stdout
            t1 = time.time()
            subnet = re.search(r"subnet (\S+),", out).group(1)
            peers = names[:i]
            seen = {}
            deadline = time.time() + 10
            while len(seen) < len(peers) and time.time() < deadline:
                for p in peers:
                    if p not in seen:
                        ts = route_times(os.path.join(mon_dir, p), subnet)
                        if ts:
                            seen[p] = ts
                time.sleep(0.01)
            if len(seen) < len(peers):
                raise RuntimeError(f"join {h}: no route on {sorted(set(peers) - set(seen))}")
            join_cmd.append((t1 - t0) * 1000)
            if peers:
                last = max(seen.values())
                join_lat.append((last - t0) * 1000)
                join_exit.append((last - t1) * 1000)
            if i + 1 in sizes:
                taken = {nd["subnet"] for nd in bj(h, "node", "ls", "--format", "json")["nodes"]}
                ev = node_events(ETCD_IP, names[0], os.path.join(mon_dir, names[0]),
                                 [berthd_pid(x) for x in names[:i + 1]], taken, args.events)
                res["events"].append(ev)
                print(f"  {i + 1} nodes: one node event {ev['cpu_ms_per_agent_per_event']:.2f} "
                      f"ms CPU per agent, put -> route p50 "
                      f"{statistics.median(ev['put_to_route_ms']):.1f} ms", flush=True)
        res["join_ms"] = {"all_peers_from_start": join_lat, "all_peers_from_exit": join_exit,
                          "join_command": join_cmd}

        # Agent memory with every node in.
        rss = {}
        for h in names:
            pid = berthd_pid(h)
            with open(f"/proc/{pid}/status") as f:
                st = f.read()
            rss[h] = {k: int(re.search(rf"{k}:\s+(\d+) kB", st).group(1))
                      for k in ("VmRSS", "RssAnon", "RssFile")}
        res["berthd_rss_kb"] = rss
        res["berthd_smaps_kb"] = smaps_by_file(berthd_pid(names[0]))

        # Cross-host name: a poller in a container on node 2 asks node 2's berthd.
        a, z = names[0], names[1]
        b(z, "run", "-d", "--name", "probe", "--network", "cluster", "--", "sleep", "100000")
        probe = (lambda j: j[0] if isinstance(j, list) else j)(bj(z, "inspect", "probe"))
        resolver = re.search(r"nameserver\s+(\S+)",
                             b(z, "exec", "probe", "--", "cat", "/etc/resolv.conf").stdout)[1]
        name_start, name_exit, run_cmd = [], [], []
        for k in range(args.reps):
            name, seen_at = f"w{k}", []

            def poll():
                with At(probe["netns"]["path"]):
                    end = time.time() + 10
                    while time.time() < end:
                        # Not in the cluster yet, the name goes upstream (unreachable here)
                        # and gets no answer: never wait long for one.
                        r = dnsq.ask(resolver, name, timeout=0.005)
                        if dnsq.addresses(r):
                            seen_at.append(time.time())
                            return
            t = threading.Thread(target=poll)
            t.start()
            t0 = time.time()
            b(a, "run", "-d", "--name", name, "--network", "cluster", "--", "sleep", "100000")
            t1 = time.time()
            t.join()
            if not seen_at:
                raise RuntimeError(f"{name} never resolved on {z}")
            name_start.append((seen_at[0] - t0) * 1000)
            name_exit.append((seen_at[0] - t1) * 1000)
            run_cmd.append((t1 - t0) * 1000)
        res["name_ms"] = {"from_run_start": name_start, "from_run_exit": name_exit,
                          "run_command": run_cmd}
        for k in range(args.reps):
            b(a, "rm", "-f", f"w{k}")

        # `berth run` on the cluster network vs a local one, alternating, on node 3.
        h = names[2]
        b(h, "network", "create", "loc", "--subnet", "10.244.240.0/24")
        run_ms = {"cluster": [], "local": []}
        argv = lambda net, k: ["nsenter", f"--net=/run/netns/{h}", bl.BERTH, "--root",
                               root_of(h), "run", "-d", "--name", f"{net}{k}", "--network",
                               net, "--", "sleep", "100000"]
        for k in range(2 * args.reps):
            for net in (("cluster", "loc") if k % 2 == 0 else ("loc", "cluster")):
                wall, _, _ = bl.timed(argv(net, k))
                run_ms["cluster" if net == "cluster" else "local"].append(wall)
        res["run_ms"] = run_ms

        floor, put = etcd_floor(ETCD_IP, names[0], names[1], 3 * args.reps)
        res["etcd_ms"] = {"put_to_watch_event": floor, "put": put}
    finally:
        for p in monitors:
            p.kill()
            p.wait()
        w.close()
    report(res, args)


def report(res, args):
    j, nm, r, e = res["join_ms"], res["name_ms"], res["run_ms"], res["etcd_ms"]
    s = {k: stats(v) for k, v in {
        "join: start -> routes on all peers": j["all_peers_from_start"],
        "join: exit -> routes on all peers": j["all_peers_from_exit"],
        "join: the command": j["join_command"],
        "join, first 5 (1-5 peers)": j["all_peers_from_start"][:5],
        f"join, last 5 ({res['nodes'] - 5}-{res['nodes'] - 1} peers)":
            j["all_peers_from_start"][-5:],
        "name: run start -> resolves on node 2": nm["from_run_start"],
        "name: run exit -> resolves on node 2": nm["from_run_exit"],
        "run -d (cluster network)": r["cluster"],
        "run -d (local network)": r["local"],
        "etcd floor: put -> watch event": e["put_to_watch_event"],
        "etcd: put round trip": e["put"]}.items()}
    print(f"\n### Multi-host control plane ({res['nodes']} simulated nodes, ms)\n")
    print(bl.table(["measure", "n", "p50", "p95", "max"],
                   [[k, v["n"], v["p50"], v["p95"], v["max"]] for k, v in s.items() if v]))
    rss = sorted(v["VmRSS"] for v in res["berthd_rss_kb"].values())
    anon = statistics.median(v["RssAnon"] for v in res["berthd_rss_kb"].values())
    join50 = s["join: start -> routes on all peers"]["p50"]
    name50 = s["name: run exit -> resolves on node 2"]["p50"]
    run_ratio = s["run -d (cluster network)"]["p50"] / s["run -d (local network)"]["p50"]
    floor50 = s["etcd floor: put -> watch event"]["p50"]
    goals = [["join p50 (start -> all peers)", join50, "<= 200 ms", join50 <= 200],
             ["join p50 / etcd put->watch floor", join50 / floor50, "-", None],
             ["name visible p50 (after run exits)", name50, "<= 100 ms", name50 <= 100],
             ["berthd VmRSS max (MB)", rss[-1] / 1024, "<= 15 MB", rss[-1] / 1024 <= 15],
             ["berthd VmRSS median (MB)", statistics.median(rss) / 1024, "-", None],
             ["berthd RssAnon median (MB)", anon / 1024, "-", None],
             ["run cluster / run local (p50)", run_ratio, "<= 1.10", run_ratio <= 1.10]]
    print()
    print(bl.table(["figure", "value", "goal", "met"],
                   [[a, v, g, "-" if m is None else ("yes" if m else "no")]
                    for a, v, g, m in goals]))
    path = bl.write_json(bl.results_dir(args.out), "cluster_join.json",
                         {"machine": bl.machine(), **res, "summary": s})
    sm = res["berthd_smaps_kb"]
    print("\n### berthd of node 1: resident kB by mapping (file pages / anonymous)\n")
    print(bl.table(["mapping", "rss kB", "of which anon kB"],
                   [[os.path.basename(k) or k, v["rss"], v["anon"]]
                    for k, v in list(sm.items())[:15]]))
    print(f"({len(sm)} mappings, {sum(v['rss'] for v in sm.values())} kB in all)")
    if res["events"]:
        print("\n### One node event, by cluster size\n")
        rows = []
        for ev in res["events"]:
            rows.append([ev["agents"], ev["events"], statistics.median(ev["put_to_route_ms"]),
                         statistics.median(ev["delete_to_route_gone_ms"]),
                         ev["cpu_ms_per_agent_per_event"], ev["idle_cpu_ms_per_agent_per_s"]])
        print(bl.table(["nodes", "events", "put->route p50 (ms)", "delete->gone p50 (ms)",
                        "CPU/agent/event (ms)", "idle CPU/agent (ms/s)"], rows))
    print(f"\nJSON: {path}")


if __name__ == "__main__":
    main()
