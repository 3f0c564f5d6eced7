#!/usr/bin/env python3
"""Attach/detach latency: N sequential containers attached to one bridge network with one
published TCP port each and masquerade on, then detached in reverse order; berth and its anchors
in the same run, alternating (issue 6, benchmark 1; kernel floor: benchmark 2).

    tests/sandbox.sh /usr/bin/python3 bench/attach_detach.py [--n 200] [--tools a,b,...]

Tools (each one gets a "host" netns of its own inside the sandbox, so one tool's rules and
links never slow another down; the harness enters it with setns before timing the tool):
  berth-cli      `berth run -d -p` / `berth rm -f`: the whole CLI path, which also makes the
                 container's netns, spawns its process and its monitor, and removes them.
  berth-connect  `berth network connect` / `disconnect` of a container created beforehand with
                 `--network none` (untimed): berth's attach path without the process, but
                 without a published port (connect cannot publish).
  berth-cni      the berth CNI plugin (type "berth": build/cni/berth -> berth-cni) with
                 runtimeConfig.portMappings, run exactly like the reference chain below.
  cni            the reference chain bridge+host-local -> portmap -> firewall (Debian
                 containernetworking-plugins), each plugin exec'ed with the CNI environment and
                 the config on stdin, chained with prevResult, as anchors/conflist-full.json.
  netavark       netavark setup/teardown with one port mapping, as
                 anchors/netavark-ports-example-options.json.
  floor          build/bench/kernel_floor: the unavoidable kernel work, one exec per operation.
For cni, netavark and floor the container netns is made (`ip netns add`) before the attach and
deleted after the detach, outside the timing, as in the anchors. Each sample is wall time around
the process(es), as a runtime sees it. Prints p50/p95/max, first-20/last-20 p50, CPU p50 and
the ratio to berth and to the kernel floor; writes JSON (raw samples too) to bench/results/.
"""

import argparse
import json
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

PORT0 = 20000
CNI_PATH = os.environ.get("CNI_PLUGINS_DIR", "/usr/lib/cni")
NETAVARK = "/usr/lib/podman/netavark"
AARDVARK = "/usr/lib/podman/aardvark-dns"
ANCHORS = os.path.join(bl.HERE, "anchor_configs")  # copies of shared/anchors/*.json


def ipv4(base, i, offset=2):
    """base 'A.B' -> A.B.x.y for host number i+offset of a /16."""
    n = i + offset
    return f"{base}.{n // 256}.{n % 256}"


class Tool:
    name = ""
    label = ""
    needs = []  # paths that must exist

    def available(self):
        missing = [p for p in self.needs if not bl.have(p)]
        return (not missing, ", ".join(missing))

    def setup(self, work):
        """Once, untimed: the host netns and the network."""
        self.work = os.path.join(work, self.name)
        os.makedirs(self.work, exist_ok=True)
        self.host = bl.Netns(f"bh-{self.name}")

    def attach(self, i):
        raise NotImplementedError

    def detach(self, i):
        raise NotImplementedError

    def check(self, n):
        """After all attaches: can container 0 ping container 1? Returns a short verdict."""
        if n < 2:
            return "n<2"
        try:
            a, b = self.netns_of(0), self.ip_of(1)
            bl.sh("nsenter", f"--net={a}", "ping", "-c1", "-W1", b)
            return "ping ok"
        except Exception as e:  # a failed check is reported, not fatal
            return f"ping FAILED ({str(e)[:120]})"

    def leftovers(self):
        with self.host.enter():
            links = bl.sh("ip", "-o", "link", "show", "type", "veth").strip()
        return len(links.splitlines()) if links else 0

    def teardown(self):
        self.host.delete()


class Floor(Tool):
    name, label = "floor", "kernel floor (raw netlink, 1 exec)"
    bin = os.path.join(bl.BUILD, "bench", "kernel_floor")
    needs = [bin]

    def setup(self, work):
        super().setup(work)
        with self.host.enter():
            bl.sh("ip", "link", "add", "br-floor", "type", "bridge")
            bl.sh("ip", "addr", "add", "10.90.0.1/16", "dev", "br-floor")
            bl.sh("ip", "link", "set", "br-floor", "up")
            bl.sh("sysctl", "-qw", "net.ipv4.ip_forward=1")
            bl.sh("nft", "-f", "-", input="""table inet floor {
  map pub { type inet_proto . inet_service : ipv4_addr . inet_service; }
  chain prerouting { type nat hook prerouting priority -100;
    fib daddr type local dnat ip to meta l4proto . th dport map @pub; }
  chain output { type nat hook output priority -100;
    fib daddr type local dnat ip to meta l4proto . th dport map @pub; }
  chain postrouting { type nat hook postrouting priority 100;
    ip saddr 10.90.0.0/16 oifname != "br-floor" masquerade; }
}
""")

    def netns_of(self, i):
        return f"/run/netns/kf{i}"

    def ip_of(self, i):
        return ipv4("10.90", i)

    def attach(self, i):
        bl.add_netns(f"kf{i}")
        with self.host.enter():
            return bl.timed([self.bin, "add", self.netns_of(i), f"kf{i}", str(1000 + i),
                             "br-floor", self.ip_of(i) + "/16", "10.90.0.1", str(PORT0 + i)])

    def detach(self, i):
        with self.host.enter():
            r = bl.timed([self.bin, "del", f"kf{i}", str(PORT0 + i)])
        bl.del_netns(f"kf{i}")
        return r


class BerthCli(Tool):
    name, label = "berth-cli", "berth CLI run -d -p / rm -f"
    needs = [bl.BERTH]

    def setup(self, work):
        super().setup(work)
        self.root = os.path.join(self.work, "root")
        self.cmd = [bl.BERTH, "--root", self.root]
        with self.host.enter():
            bl.sh(*self.cmd, "network", "create", "bench")
        self._inspect = {}

    def _info(self, i):
        if i not in self._inspect:
            with self.host.enter():
                info = json.loads(bl.sh(*self.cmd, "inspect", self.cname(i)))
                self._inspect[i] = info[0] if isinstance(info, list) else info
        return self._inspect[i]

    def cname(self, i):
        return f"ctr{i}"  # not a hex prefix: berth would also match it against container ids

    def netns_of(self, i):
        return self._info(i)["netns"]["path"]

    def ip_of(self, i):
        return self._info(i)["networks"]["bench"]["ip"]

    def attach(self, i):
        with self.host.enter():
            return bl.timed(self.cmd + ["run", "-d", "--name", self.cname(i), "--network", "bench",
                                        "-p", f"{PORT0 + i}:80", "--", "sleep", "1000000"])

    def detach(self, i):
        self._inspect.pop(i, None)
        with self.host.enter():
            return bl.timed(self.cmd + ["rm", "-f", self.cname(i)])


class BerthConnect(BerthCli):
    name, label = "berth-connect", "berth network connect / disconnect (no port)"

    def cname(self, i):
        return f"n{i}"

    def attach(self, i):
        with self.host.enter():
            bl.sh(*self.cmd, "run", "-d", "--name", self.cname(i), "--network", "none", "--",
                  "sleep", "1000000")
            return bl.timed(self.cmd + ["network", "connect", "bench", self.cname(i)])

    def detach(self, i):
        self._inspect.pop(i, None)
        with self.host.enter():
            r = bl.timed(self.cmd + ["network", "disconnect", "bench", self.cname(i)])
            bl.sh(*self.cmd, "rm", "-f", self.cname(i))
        return r


class CniChain(Tool):
    """Runs a conflist the way libcni does: cniVersion/name injected into each plugin's config,
    prevResult passed on, runtimeConfig.portMappings for plugins with that capability; DEL in
    reverse order with the ADD result as prevResult."""
    name, label = "cni", "CNI bridge+host-local -> portmap -> firewall"
    needs = [os.path.join(CNI_PATH, p) for p in ("bridge", "host-local", "portmap", "firewall")]
    subnet_base = "10.88"

    def conflist(self):
        with open(os.path.join(ANCHORS, "conflist-full.json")) as f:
            c = json.load(f)
        c["plugins"][0]["ipam"]["dataDir"] = os.path.join(self.work, "ipam")
        return c

    def cni_path(self):
        return CNI_PATH

    def env(self):
        return {}

    def setup(self, work):
        super().setup(work)
        self.conf = self.conflist()
        with open(os.path.join(self.work, "conflist.json"), "w") as f:
            json.dump(self.conf, f, indent=1)
        self.results = {}

    def netns_of(self, i):
        return f"/run/netns/{self.name}{i}"

    def ip_of(self, i):
        return self.results[i]["ips"][0]["address"].split("/")[0]

    def _env(self, cmd, i):
        e = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "CNI_COMMAND": cmd,
             "CNI_CONTAINERID": f"bench{self.name}{i:06d}", "CNI_NETNS": self.netns_of(i),
             "CNI_IFNAME": "eth0", "CNI_PATH": self.cni_path()}
        e.update(self.env())
        return e

    def _plugin_conf(self, p, i, prev):
        conf = dict(p)
        conf["cniVersion"] = self.conf["cniVersion"]
        conf["name"] = self.conf["name"]
        if prev is not None:
            conf["prevResult"] = prev
        if p.get("capabilities", {}).get("portMappings"):
            conf["runtimeConfig"] = {"portMappings": [
                {"hostPort": PORT0 + i, "containerPort": 80, "protocol": "tcp"}]}
        return json.dumps(conf).encode()

    def _chain(self, cmd, i, plugins, prev):
        wall = cpu = 0.0
        env = self._env(cmd, i)
        for p in plugins:
            w, c, out = bl.timed([os.path.join(self.cni_path(), p["type"])],
                                 input=self._plugin_conf(p, i, prev), env=env)
            wall += w
            cpu += c
            if cmd == "ADD":
                prev = json.loads(out)
        return wall, cpu, prev

    def attach(self, i):
        bl.add_netns(f"{self.name}{i}")
        with self.host.enter():
            w, c, res = self._chain("ADD", i, self.conf["plugins"], None)
        self.results[i] = res
        return w, c, None

    def detach(self, i):
        with self.host.enter():
            w, c, _ = self._chain("DEL", i, list(reversed(self.conf["plugins"])),
                                  self.results.pop(i))
        bl.del_netns(f"{self.name}{i}")
        return w, c, None


class BerthCni(CniChain):
    """berth's CNI plugin, type "berth", found on CNI_PATH as build/cni/berth (a link to
    build/berth-cni), with its own state root; the same chain runner as the reference.
    Without DNS, like the anchors (netavark's options say dns_enabled: false; the reference
    chain has none): berth-cni-dns is the same with berth's embedded DNS on."""
    name, label = "berth-cni", "berth CNI plugin (type berth, portMappings)"
    dns = False
    dir = os.path.join(bl.BUILD, "cni")
    needs = [os.path.join(dir, "berth")]

    def conflist(self):
        return {"cniVersion": "1.0.0", "name": "bench", "plugins": [
            {"type": "berth", "root": os.path.join(self.work, "root"), "ipMasq": True,
             "isDefaultGateway": True, "ipam": {"subnet": "172.30.0.0/16"}, "dns": self.dns,
             "capabilities": {"portMappings": True}}]}

    def cni_path(self):
        return self.dir


class Netavark(Tool):
    name, label = "netavark", "netavark setup/teardown + 1 port"
    needs = [NETAVARK]

    def setup(self, work):
        super().setup(work)
        with open(os.path.join(ANCHORS, "netavark-ports-example-options.json")) as f:
            self.template = json.load(f)
        self.config = os.path.join(self.work, "config")
        os.makedirs(self.config, exist_ok=True)

    def netns_of(self, i):
        return f"/run/netns/nv{i}"

    def ip_of(self, i):
        return ipv4("10.89", i)

    def opts(self, i):
        o = json.loads(json.dumps(self.template))
        o["container_id"] = f"{i:064x}"
        o["container_name"] = f"ctr{i:04d}"
        net = o["networks"]["labnet"]
        net["static_ips"] = [self.ip_of(i)]
        net["aliases"] = [o["container_id"][:12]]
        o["port_mappings"][0]["host_port"] = PORT0 + i
        return json.dumps(o).encode()

    def _run(self, verb, i):
        with self.host.enter():
            return bl.timed([NETAVARK, "--config", self.config, "-a", AARDVARK, verb,
                             self.netns_of(i)], input=self.opts(i))

    def attach(self, i):
        bl.add_netns(f"nv{i}")
        return self._run("setup", i)

    def detach(self, i):
        r = self._run("teardown", i)
        bl.del_netns(f"nv{i}")
        return r


class BerthCniDns(BerthCni):
    name, label = "berth-cni-dns", "berth CNI plugin + embedded DNS (berthd)"
    dns = True


TOOLS = {t.name: t for t in (BerthCli, BerthConnect, BerthCni, BerthCniDns, CniChain, Netavark,
                             Floor)}
BERTH_TOOLS = ("berth-cni", "berth-cni-dns", "berth-cli", "berth-connect")
ANCHOR_TOOLS = ("cni", "netavark")


def exec_floor(n):
    """A bare fork+exec of /bin/true from this timer (what every sample includes)."""
    return [bl.timed(["/bin/true"])[0] for _ in range(n)]


def report(n, stats, verdicts, execs):
    ref = next((t for t in BERTH_TOOLS if t in stats and t != "berth-connect"), None)
    rows = []
    for op in ("attach", "detach"):
        for t, s in stats.items():
            st = s[op]
            vs_berth = st["p50"] / stats[ref][op]["p50"] if ref and t != ref else None
            vs_floor = st["p50"] / stats["floor"][op]["p50"] if "floor" in stats and t != "floor" \
                else None
            rows.append([op, TOOLS[t].label, st["n"], st["p50"], st["p95"], st["max"],
                         st["first_p50"], st["last_p50"], st["last_p50"] / st["first_p50"],
                         st.get("cpu_p50"), vs_berth, vs_floor])
    edge = min(20, n)
    print(f"\n### Attach/detach, N={n} (ms; first/last = p50 of the first/last {edge} in "
          f"execution order; x {ref} = p50 / p50 of {ref}; x floor = p50 / kernel floor p50)\n")
    print(bl.table(["op", "tool", "N", "p50", "p95", "max", f"first{edge}", f"last{edge}",
                    "last/first", "CPU p50", f"x {ref}", "x floor"], rows))
    print(f"\nexec floor (/bin/true from this timer, N={len(execs)}): "
          f"p50 {bl.summarize(execs)['p50']:.2f} ms")
    for t, v in verdicts.items():
        print(f"check {t}: {v}")
    return ref


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--tools",
                    default="berth-cni,berth-cni-dns,berth-cli,berth-connect,cni,netavark,floor")
    ap.add_argument("--out", default=None, help="results directory (default bench/results)")
    ap.add_argument("--tag", default="", help="suffix of the JSON file name")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    bl.assert_sandboxed()
    random.seed(args.seed)

    tools, skipped = [], {}
    for name in args.tools.split(","):
        t = TOOLS[name]()
        ok, missing = t.available()
        if ok:
            tools.append(t)
        else:
            skipped[name] = f"not available: {missing}"
            print(f"skip {name}: {missing}")
    work = tempfile.mkdtemp(prefix="attach-", dir="/run")
    for t in tools:
        t.setup(work)
    samples = {t.name: {"attach": [], "attach_cpu": [], "detach": [], "detach_cpu": []}
               for t in tools}
    execs = exec_floor(min(50, max(args.n, 10)))
    t0 = time.time()
    # Alternate: container i of every tool, in a rotating order, before container i+1.
    for i in range(args.n):
        k = i % len(tools)
        for t in tools[k:] + tools[:k]:
            w, c, _ = t.attach(i)
            samples[t.name]["attach"].append(w)
            samples[t.name]["attach_cpu"].append(c)
    verdicts = {t.name: t.check(args.n) for t in tools}
    for i in reversed(range(args.n)):
        k = i % len(tools)
        for t in tools[k:] + tools[:k]:
            w, c, _ = t.detach(i)
            samples[t.name]["detach"].append(w)
            samples[t.name]["detach_cpu"].append(c)
    for t in tools:
        left = t.leftovers()
        if left:
            verdicts[t.name] += f"; {left} veths left after detach"
        t.teardown()
    elapsed = time.time() - t0
    stats = {t.name: {op: bl.summarize(samples[t.name][op], samples[t.name][op + "_cpu"])
                      for op in ("attach", "detach")} for t in tools}
    ref = report(args.n, stats, verdicts, execs)
    out = bl.results_dir(args.out)
    path = bl.write_json(out, f"attach_detach_n{args.n}{args.tag}.json", {
        "machine": bl.machine(), "n": args.n, "elapsed_s": elapsed, "reference": ref,
        "labels": {t.name: t.label for t in tools}, "skipped": skipped, "checks": verdicts,
        "exec_floor_ms": bl.summarize(execs), "stats": stats, "raw_ms": samples})
    print(f"\nJSON: {path}")


if __name__ == "__main__":
    main()
