"""Multi-host networking on etcd (issue 12), as a user sees it: three simulated hosts, each a
network namespace with its own state root and berthd, and a real etcd (Debian's etcd-server).

    h1 198.18.0.1 --+                              +-- h3 198.18.1.3
    h2 198.18.0.2 --+-- br0 198.18.0.0/24 -- rt -- br1 198.18.1.0/24
    etcd 198.18.0.254 -+          (.253 on both segments)

The cluster's backend is `auto`: host-gw between h1 and h2 (one L2 segment), vxlan to h3. Each
host's berth runs with `nsenter --net=` (never `ip netns exec`: that would leave the mount
namespace where berth's netns bind mounts live)."""

import json
import os
import shutil
import signal
import subprocess
import time
import unittest

from harness import BERTH, run, wait_until, _gone
from cluster_world import (CIDR, ETCD, ETCD_IP, World, at, b, berthd_log, berthd_pid, bj,
                           cip, etcdctl, links, root_of, routes, status)

HOSTS = {"h1": "198.18.0.1", "h2": "198.18.0.2", "h3": "198.18.1.3"}


def ping(host, name, ip):
    return b(host, "exec", name, "--", "ping", "-c", "1", "-W", "2", ip,
             check=False).returncode == 0


PEER_ECHO = "socat TCP-LISTEN:{port},fork,reuseaddr SYSTEM:'echo $SOCAT_PEERADDR'"
SERVERS = []


def serve(host, name, port=80):
    argv = ["nsenter", f"--net=/run/netns/{host}", BERTH, "--root", root_of(host), "exec",
            name, "--", "sh", "-c", PEER_ECHO.format(port=port)]
    SERVERS.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))


def ask(host, name, ip, port=80):
    """The address the server at ip:port saw this container at, or None."""
    for _ in range(20):
        p = b(host, "exec", name, "--", "socat", "-T2", "-", f"TCP:{ip}:{port},connect-timeout=1",
              check=False)
        line = p.stdout.strip().splitlines()
        if line:
            return line[0]
        time.sleep(0.1)  # the server may not listen yet
    return None


CNI_DIR = os.environ.get("BERTH_CNI_DIR",
                         os.path.join(os.path.dirname(__file__), "../../build/cni"))


def cni(host, command, netns="pod", container="pod1"):
    """The berth CNI plugin run by a runtime on `host` for the conflist's network `cluster`."""
    conf = json.dumps({"cniVersion": "1.0.0", "name": "cluster", "type": "berth",
                       "root": root_of(host)})
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
           "CNI_COMMAND": command, "CNI_CONTAINERID": container,
           "CNI_NETNS": f"/run/netns/{netns}", "CNI_IFNAME": "eth0", "CNI_PATH": CNI_DIR}
    return subprocess.run(["nsenter", f"--net=/run/netns/{host}", os.path.join(CNI_DIR, "berth")],
                          input=conf, env=env, capture_output=True, text=True, timeout=30)


class ClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.world = World(HOSTS)
        b("h1", "cluster", "init", "--etcd", ETCD, "--cidr", CIDR, "--backend", "auto")
        for host, ip in HOSTS.items():
            b(host, "cluster", "join", "--etcd", ETCD, "--node", host, "--node-ip", ip)
        cls.subnets = {n["name"]: n["subnet"] for n in bj("h1", "node", "ls", "--format", "json")["nodes"]}
        for host in HOSTS:
            b(host, "run", "-d", "--name", f"c-{host}", "--network", "cluster", "--",
              "sleep", "600")
        # Every agent programmed its two peers.
        for host in HOSTS:
            assert wait_until(lambda: len(routes(host)) == 2, timeout=10), \
                f"{host}: routes {routes(host)}\n{berthd_log(host)}"

    @classmethod
    def tearDownClass(cls):
        for p in SERVERS:
            p.kill()
            p.wait()
        cls.world.close()

    def test_1_nodes_distinct_subnets_and_paths(self):
        nodes = {n["name"]: n for n in bj("h1", "node", "ls", "--format", "json")["nodes"]}
        self.assertEqual(set(nodes), set(HOSTS))
        self.assertEqual(len({n["subnet"] for n in nodes.values()}), 3)
        for n in nodes.values():
            self.assertTrue(n["subnet"].startswith("10.244."), n)
            self.assertTrue(n["ready"], n)
            self.assertTrue(n["last_seen"], n)
            for key in ("name", "node_ip", "subnet", "backend", "vtep_mac", "ready", "last_seen"):
                self.assertIn(key, n)
        # auto: host-gw on the same L2 segment, vxlan across the router.
        self.assertEqual(nodes["h2"]["backend"], "host-gw")
        self.assertEqual(nodes["h3"]["backend"], "vxlan")
        from_h3 = {n["name"]: n for n in bj("h3", "node", "ls", "--format", "json")["nodes"]}
        self.assertEqual(from_h3["h1"]["backend"], "vxlan")
        self.assertEqual(from_h3["h2"]["backend"], "vxlan")
        # The data plane agrees: a route via h2's node IP, an onlink route into the overlay.
        r = routes("h1")
        self.assertEqual(r[nodes["h2"]["subnet"]]["gateway"], HOSTS["h2"])
        self.assertEqual(r[nodes["h3"]["subnet"]]["dev"], "berth.vxlan")
        # The table shows etcd's reachability.
        self.assertIn("etcd: reachable", b("h1", "node", "ls").stdout)
        doc = bj("h1", "node", "ls", "--format", "json")
        self.assertTrue(doc["etcd_reachable"])
        self.assertEqual(nodes["h1"]["backend"], "auto")  # itself: the cluster's backend

    def test_2_cni_pod_on_the_cluster_network(self):
        # A runtime's conflist naming the network `cluster` puts a pod on this node's subnet.
        run(["ip", "netns", "add", "pod"])
        try:
            p = cni("h2", "ADD")
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            ip = json.loads(p.stdout)["ips"][0]["address"].split("/")[0]
            self.assertTrue(ip.startswith(self.subnets["h2"].rsplit(".", 1)[0]), ip)
            self.assertTrue(ping("h1", "c-h1", ip))
            self.assertTrue(ping("h3", "c-h3", ip))
        finally:
            cni("h2", "DEL")
            run(["ip", "netns", "del", "pod"], check=False)

    def test_2_mtu_of_the_overlay(self):
        # auto: the cluster bridge takes the VXLAN overhead off the underlay's 1500.
        net = bj("h1", "network", "inspect", "cluster")
        net = net[0] if isinstance(net, list) else net
        self.assertEqual(net.get("mtu", net.get("network", {}).get("mtu")), 1450, net)
        self.assertEqual(json.loads(at("h1", "ip", "-j", "link", "show", "berth.vxlan").stdout)[0]
                         ["mtu"], 1450)
        # 1400 bytes with DF set cross the overlay (h1 -> h3); 1500 do not fit and are refused
        # by the sender, never silently dropped on the way.
        ip3 = cip("h3", "c-h3")
        ok = b("h1", "exec", "c-h1", "--", "ping", "-c", "1", "-W", "2", "-M", "do", "-s", "1372",
               ip3, check=False)
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        big = b("h1", "exec", "c-h1", "--", "ping", "-c", "1", "-W", "2", "-M", "do", "-s", "1472",
                ip3, check=False)
        self.assertNotEqual(big.returncode, 0)
        self.assertIn("message too long", (big.stdout + big.stderr).lower())

    def test_2_names_resolve_across_hosts(self):
        def resolves(host, name):
            p = b(host, "exec", f"c-{host}", "--", "getent", "hosts", name, check=False)
            return p.stdout.split()[0] if p.returncode == 0 and p.stdout else None
        b("h1", "run", "-d", "--name", "web", "--alias", "www", "--network", "cluster", "--",
          "sleep", "600")
        t0 = time.monotonic()
        ip = cip("h1", "web")
        for host in ("h2", "h3"):
            self.assertTrue(wait_until(lambda: resolves(host, "web") == ip, timeout=3),
                            f"web from {host}")
        took = time.monotonic() - t0
        print(f"\n  cross-host name visible after {took * 1000:.0f} ms (incl. exec)")
        self.assertEqual(resolves("h3", "www"), ip)
        self.assertEqual(resolves("h1", "c-h2"), cip("h2", "c-h2"))
        b("h1", "rm", "-f", "web")
        for host in ("h2", "h3"):
            self.assertTrue(wait_until(lambda: resolves(host, "web") is None, timeout=3),
                            f"web still resolves from {host}")

    def test_2_ping_and_tcp_across_every_pair_keep_the_client_ip(self):
        ips = {h: cip(h, f"c-{h}") for h in HOSTS}
        for h in HOSTS:
            self.assertTrue(ips[h].startswith(self.subnets[h].rsplit(".", 1)[0]), ips)
            serve(h, f"c-{h}")
        for src in HOSTS:
            for dst in HOSTS:
                if src == dst:
                    continue
                self.assertTrue(ping(src, f"c-{src}", ips[dst]), f"ping {src} -> {dst}")
                # No SNAT between hosts: the server sees the client container's own address.
                self.assertEqual(ask(src, f"c-{src}", ips[dst]), ips[src], f"tcp {src} -> {dst}")

    def test_2_outside_is_masqueraded_and_published_ports_work(self):
        # A server outside the cluster (on the underlay) sees the host's node IP: masqueraded.
        p = subprocess.Popen(["ip", "netns", "exec", "etcd", "sh", "-c",
                              PEER_ECHO.format(port=9000)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        SERVERS.append(p)
        self.assertEqual(ask("h1", "c-h1", ETCD_IP, 9000), HOSTS["h1"])
        # A published port on a cluster node answers from the underlay.
        b("h2", "run", "-d", "--name", "pub", "--network", "cluster", "-p", "8080:80", "--",
          "sh", "-c", PEER_ECHO.format(port=80))
        try:
            got = None
            for _ in range(30):
                q = run(["ip", "netns", "exec", "etcd", "socat", "-T2", "-",
                         f"TCP:{HOSTS['h2']}:8080,connect-timeout=1"], check=False)
                got = q.stdout.strip()
                if got:
                    break
                time.sleep(0.1)
            self.assertEqual(got, ETCD_IP)
        finally:
            b("h2", "rm", "-f", "pub")

    def test_3_init_again_is_a_noop_and_a_different_config_is_refused(self):
        b("h2", "cluster", "init", "--etcd", ETCD, "--cidr", CIDR, "--backend", "auto")
        p = b("h2", "cluster", "init", "--etcd", ETCD, "--cidr", "10.245.0.0/16", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("different config", p.stderr)
        self.assertIn("10.244.0.0/16", p.stderr)
        self.assertIn("10.245.0.0/16", p.stderr)

    def test_4_kill9_of_berthd_keeps_subnet_and_routes(self):
        before = routes("h2")
        vxlan = json.loads(at("h2", "ip", "-j", "link", "show", "berth.vxlan").stdout)[0]
        pid = berthd_pid("h2")
        self.assertIsNotNone(pid)
        os.kill(pid, signal.SIGKILL)
        self.assertTrue(wait_until(lambda: _gone(pid)))
        self.assertEqual(routes("h2"), before)  # traffic keeps flowing without its agent
        self.assertTrue(ping("h1", "c-h1", cip("h2", "c-h2")))
        # Any berth command brings berthd (and its agent) back; same subnet.
        b("h2", "network", "ls")
        self.assertTrue(wait_until(lambda: berthd_pid("h2") is not None, timeout=5))
        self.assertTrue(wait_until(lambda: (status("h2").get("cluster") or {}).get("ready"),
                                   timeout=10), status("h2"))
        nodes = {n["name"]: n for n in bj("h1", "node", "ls", "--format", "json")["nodes"]}
        self.assertEqual(nodes["h2"]["subnet"], self.subnets["h2"])
        self.assertEqual(routes("h2"), before)
        # The restarted agent kept the device it found (same ifindex and MAC): no blip.
        after = json.loads(at("h2", "ip", "-j", "link", "show", "berth.vxlan").stdout)[0]
        self.assertEqual((after["ifindex"], after["address"]), (vxlan["ifindex"], vxlan["address"]))

    def test_5_fencing_when_another_node_holds_the_subnet(self):
        key = "/berth/subnets/" + self.subnets["h2"].replace("/", "-")
        etcdctl("put", key, "intruder")
        try:
            self.assertTrue(wait_until(lambda: status("h2")["cluster"]["fenced"], timeout=5),
                            status("h2"))
            st = status("h2")["cluster"]
            self.assertIn("is held by node intruder", st["last_error"])
            self.assertEqual(routes("h2"), {})  # stopped serving: no routes to peers
            self.assertTrue(os.path.exists(os.path.join(root_of("h2"), "cluster.fenced")))
            # A runtime's pod is refused too, with a CNI error that says why.
            run(["ip", "netns", "add", "fpod"])
            try:
                p = cni("h2", "ADD", netns="fpod", container="fenced1")
                self.assertNotEqual(p.returncode, 0, p.stdout)
                err = json.loads(p.stdout)
                self.assertIsInstance(err["code"], int)
                self.assertIn("not served on this node", err["msg"])
                self.assertIn("intruder", err["msg"] + err.get("details", ""))
                # Nothing of it stayed: no interface in the pod, no address held.
                self.assertNotIn("eth0", at("h2", "ip", "-n", "fpod", "link").stdout)
            finally:
                cni("h2", "DEL", netns="fpod", container="fenced1")
        finally:
            etcdctl("put", key, "h2")
        # A restarted agent finds its subnet again.
        pid = berthd_pid("h2")
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: _gone(pid))
        b("h2", "network", "ls")
        self.assertTrue(wait_until(lambda: len(routes("h2")) == 2, timeout=10), routes("h2"))
        self.assertTrue(wait_until(lambda: not os.path.exists(
            os.path.join(root_of("h2"), "cluster.fenced")), timeout=5))
        # The fence lifted, the same pod is attached.
        try:
            p = cni("h2", "ADD", netns="fpod", container="fenced1")
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            ip = json.loads(p.stdout)["ips"][0]["address"].split("/")[0]
            self.assertTrue(ping("h1", "c-h1", ip))
        finally:
            cni("h2", "DEL", netns="fpod", container="fenced1")
            run(["ip", "netns", "del", "fpod"], check=False)

    def test_6_leave_withdraws_routes_everywhere_within_a_second(self):
        b("h3", "rm", "-f", "c-h3")
        sub3 = self.subnets["h3"]
        p = b("h3", "cluster", "leave")
        t0 = time.monotonic()
        self.assertIn("left the cluster", p.stdout)
        for host in ("h1", "h2"):
            self.assertTrue(wait_until(lambda: sub3 not in routes(host), timeout=1.0),
                            f"{host} still routes to {sub3}")
        self.assertLess(time.monotonic() - t0, 1.5)
        # Nothing left on h3: no device, no routes, no network, no membership.
        self.assertNotIn("berth.vxlan", links("h3"))
        self.assertEqual(routes("h3"), {})
        self.assertNotIn("cluster", [n["name"] for n in bj("h3", "network", "ls", "--format", "json")])
        self.assertFalse(os.path.exists(os.path.join(root_of("h3"), "cluster.json")))
        for name in ("cluster_subnets", "cluster_cidrs"):
            doc = json.loads(at("h3", "nft", "-j", "list", "set", "inet", "berth", name).stdout)
            self.assertNotIn("elem", [o for o in doc["nftables"] if "set" in o][0]["set"])
        self.assertFalse((status("h3").get("cluster")) if berthd_pid("h3") else None)
        self.assertEqual(etcdctl("get", "--prefix", "/berth/nodes/h3").stdout.strip(), "")
        self.assertEqual(etcdctl("get", "--prefix", "/berth/subnets/" +
                                 sub3.replace("/", "-")).stdout.strip(), "")

    def test_7_node_rm_frees_a_dead_nodes_subnet(self):
        # A node that died for good: its record without an agent.
        etcdctl("put", "/berth/subnets/10.244.250.0-24", "ghost")
        etcdctl("put", "/berth/nodes/ghost", json.dumps(
            {"name": "ghost", "node_ip": "198.18.0.77", "subnet": "10.244.250.0/24",
             "vtep_mac": "02:00:00:00:00:77", "backend": "auto", "mtu": 1450}))
        self.assertTrue(wait_until(lambda: "10.244.250.0/24" in routes("h1"), timeout=2))
        ghost = {n["name"]: n for n in bj("h1", "node", "ls", "--format", "json")["nodes"]}["ghost"]
        self.assertFalse(ghost["ready"])
        b("h2", "node", "rm", "ghost")
        self.assertTrue(wait_until(lambda: "10.244.250.0/24" not in routes("h1"), timeout=1.0))
        self.assertEqual(etcdctl("get", "--prefix", "/berth/subnets/10.244.250.0").stdout.strip(), "")
        p = b("h2", "node", "rm", "ghost", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("no node ghost", p.stderr)

    def test_8_leave_is_refused_while_containers_are_attached(self):
        p = b("h1", "cluster", "leave", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertTrue(os.path.exists(os.path.join(root_of("h1"), "cluster.json")))
        self.assertEqual(len(routes("h1")) >= 1, True)

    def test_9_etcd_outage_leaves_the_data_plane_alone(self):
        ip2 = cip("h2", "c-h2")
        self.world.stop_etcd()
        try:
            # Containers come and go on the cluster network; traffic between hosts flows.
            b("h1", "run", "-d", "--name", "during", "--network", "cluster", "--", "sleep", "600")
            self.assertTrue(ping("h1", "during", ip2))
            b("h1", "rm", "-f", "during")
            b("h1", "run", "-d", "--name", "later", "--network", "cluster", "--", "sleep", "600")
            self.assertTrue(ping("h1", "c-h1", ip2))
            self.assertTrue(wait_until(lambda: not status("h1")["cluster"]["etcd_reachable"],
                                       timeout=10), status("h1"))
            p = b("h1", "node", "ls")  # the nodes the agent knew, etcd said unreachable
            self.assertIn("etcd: UNREACHABLE", p.stdout)
            self.assertIn(self.subnets["h2"], p.stdout)
            down = bj("h1", "node", "ls", "--format", "json")
            self.assertFalse(down["etcd_reachable"])
            self.assertIn("h2", {n["name"] for n in down["nodes"]})
            self.assertEqual(len(routes("h1")), 1)  # h2 (h3 left); nothing dropped
        finally:
            self.world.start_etcd()
        for host in ("h1", "h2"):
            self.assertTrue(wait_until(lambda: status(host)["cluster"]["ready"] and
                                       status(host)["cluster"]["etcd_reachable"], timeout=15),
                            status(host))
        nodes = {n["name"]: n for n in bj("h1", "node", "ls", "--format", "json")["nodes"]}
        self.assertEqual(nodes["h1"]["subnet"], self.subnets["h1"])
        self.assertEqual(nodes["h2"]["subnet"], self.subnets["h2"])
        # A name registered during the outage reaches the other node once etcd is back.
        later = cip("h1", "later")
        self.assertTrue(wait_until(
            lambda: b("h2", "exec", "c-h2", "--", "getent", "hosts", "later",
                      check=False).stdout.split()[:1] == [later], timeout=5))
        b("h1", "rm", "-f", "later")

    def test_explain_prints_the_overlay_per_peer(self):
        out = b("h1", "network", "explain", "cluster").stdout
        self.assertIn("proto 190", out)
        self.assertIn("# peer h2 (host-gw)", out)


class ClusterRecoveryTest(unittest.TestCase):
    """What the agents do when the world changes under them (issue 12, "Leases done right"):
    kernel state changed by hand, a live node removed, etcd wiped. Hosts of their own (r1, r2
    on one segment, r3 behind the router: host-gw and vxlan)."""

    HOSTS = {"r1": "198.18.0.11", "r2": "198.18.0.12", "r3": "198.18.1.13"}

    @classmethod
    def setUpClass(cls):
        cls.world = World(cls.HOSTS)
        cls.world.add_host("r4", "198.18.0.14")  # a host that never gets into the cluster
        b("r1", "cluster", "init", "--etcd", ETCD, "--cidr", CIDR, "--backend", "auto")
        for host, ip in cls.HOSTS.items():
            b(host, "cluster", "join", "--etcd", ETCD, "--node", host, "--node-ip", ip)
        cls.subnets = {n["name"]: n["subnet"] for n in bj("r1", "node", "ls", "--format", "json")["nodes"]}
        for host in cls.HOSTS:
            b(host, "run", "-d", "--name", f"c-{host}", "--network", "cluster", "--",
              "sleep", "600")
        for host in cls.HOSTS:
            assert wait_until(lambda: len(routes(host)) == 2, timeout=10), \
                f"{host}: routes {routes(host)}\n{berthd_log(host)}"

    @classmethod
    def tearDownClass(cls):
        cls.world.close()

    def test_1_kernel_changes_by_hand_are_repaired(self):
        sub3 = self.subnets["r3"]
        ip3 = cip("r3", "c-r3")
        at("r1", "ip", "route", "del", sub3)
        t0 = time.monotonic()
        self.assertTrue(wait_until(lambda: sub3 in routes("r1"), timeout=3), routes("r1"))
        self.assertLess(time.monotonic() - t0, 1.0)  # on the kernel's notification
        at("r1", "ip", "neigh", "flush", "dev", "berth.vxlan")
        at("r1", "ip", "link", "del", "berth.vxlan")
        self.assertTrue(wait_until(lambda: "berth.vxlan" in links("r1") and
                                   sub3 in routes("r1"), timeout=3), berthd_log("r1"))
        self.assertTrue(wait_until(lambda: ping("r1", "c-r1", ip3), timeout=5))
        self.assertFalse(status("r1")["cluster"]["fenced"])
        # A more-specific route of someone else's: said in the status, left alone.
        half = sub3.replace(".0/24", ".0/25")
        at("r1", "ip", "route", "add", half, "via", "198.18.0.253")
        try:
            self.assertTrue(wait_until(lambda: any(half in c for c in
                                                   status("r1")["cluster"]["conflicts"]),
                                       timeout=3), status("r1"))
            self.assertIn(half, at("r1", "ip", "route", "show", half).stdout)
        finally:
            at("r1", "ip", "route", "del", half)
        self.assertTrue(wait_until(lambda: not status("r1")["cluster"]["conflicts"], timeout=3))

    def test_2_node_rm_of_a_live_node_fences_it_for_good(self):
        b("r1", "node", "rm", "r3")
        self.assertTrue(wait_until(lambda: status("r3")["cluster"]["fenced"], timeout=5))
        st = status("r3")["cluster"]
        self.assertIn("removed", st["last_error"])
        self.assertTrue(st["etcd_reachable"])
        self.assertEqual(routes("r3"), {})
        # It no longer serves the cluster network locally.
        p = b("r3", "run", "-d", "--name", "late", "--network", "cluster", "--", "sleep", "60",
              check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("removed", p.stderr)
        time.sleep(1.5)
        self.assertEqual(etcdctl("get", "--prefix", "/berth/names/r3").stdout.strip(), "")
        self.assertEqual(etcdctl("get", "/berth/nodes/r3").stdout.strip(), "")
        # A berthd restart does not bring it back.
        pid = berthd_pid("r3")
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: _gone(pid))
        b("r3", "network", "ls")
        self.assertTrue(wait_until(lambda: status("r3")["cluster"]["fenced"], timeout=5))
        self.assertEqual(etcdctl("get", "/berth/nodes/r3").stdout.strip(), "")

    def test_3_a_wiped_etcd_is_claimed_again_without_a_blip(self):
        self.world.stop_etcd()
        shutil.rmtree(os.path.join(self.world.data, "data"))
        self.world.start_etcd()
        time.sleep(3)
        # No config yet: the agents wait and say why; routes between r1 and r2 stay.
        st = status("r1")["cluster"]
        self.assertFalse(st["fenced"], st)
        self.assertIn("cluster init", st["last_error"])
        self.assertIn(self.subnets["r2"], routes("r1"))
        ip2 = cip("r2", "c-r2")
        self.assertTrue(ping("r1", "c-r1", ip2))
        b("r1", "cluster", "init", "--etcd", ETCD, "--cidr", CIDR, "--backend", "auto")
        for host in ("r1", "r2"):
            self.assertTrue(wait_until(lambda: status(host)["cluster"]["ready"], timeout=10),
                            status(host))
        nodes = {n["name"]: n["subnet"] for n in bj("r1", "node", "ls", "--format", "json")["nodes"]}
        self.assertEqual(nodes, {"r1": self.subnets["r1"], "r2": self.subnets["r2"]})
        self.assertTrue(ping("r1", "c-r1", ip2))
        # Their names are registered again.
        self.assertTrue(wait_until(lambda: etcdctl("get", "--prefix", "--keys-only",
                                                   "/berth/names/r2/").stdout.strip(),
                                   timeout=5))
        # The removed node never claims its old subnet back, even with its tombstone gone.
        self.assertTrue(status("r3")["cluster"]["fenced"])
        self.assertEqual(etcdctl("get", "--prefix", "/berth/subnets/" +
                                 self.subnets["r3"].replace("/", "-")).stdout.strip(), "")

    def test_4_a_second_host_with_a_live_nodes_name_is_refused(self):
        self.assertTrue(wait_until(lambda: etcdctl("get", "/berth/alive/r1").stdout.strip(),
                                   timeout=12))
        p = b("r4", "cluster", "join", "--etcd", ETCD, "--node", "r1", "--node-ip", "198.18.0.14",
              check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("198.18.0.11", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(root_of("r4"), "cluster.json")))
        node = json.loads(etcdctl("get", "--print-value-only", "/berth/nodes/r1").stdout)
        self.assertEqual(node["node_ip"], "198.18.0.11")
        # An agent that finds its record written by another host fences itself, loudly.
        theirs = dict(node, host_id="another-host", node_ip="198.18.0.99")
        etcdctl("put", "/berth/nodes/r1", json.dumps(theirs))
        try:
            self.assertTrue(wait_until(lambda: status("r1")["cluster"]["fenced"], timeout=5))
            self.assertIn("198.18.0.99", status("r1")["cluster"]["last_error"])
            self.assertTrue(status("r1")["cluster"]["etcd_reachable"])
            self.assertTrue(os.path.exists(os.path.join(root_of("r1"), "cluster.fenced")))
        finally:
            etcdctl("put", "/berth/nodes/r1", json.dumps(node))
        self.assertTrue(wait_until(lambda: status("r1")["cluster"]["ready"], timeout=10),
                        status("r1"))
        self.assertFalse(os.path.exists(os.path.join(root_of("r1"), "cluster.fenced")))

    def test_6_leave_while_etcd_is_down_needs_force(self):
        sub2 = self.subnets["r2"]
        self.assertTrue(wait_until(lambda: sub2 in routes("r1"), timeout=5), routes("r1"))
        self.world.stop_etcd()
        try:
            p = b("r2", "cluster", "leave", check=False)
            self.assertNotEqual(p.returncode, 0, p.stdout)
            self.assertIn("etcd is unreachable", p.stderr)
            self.assertIn("--force", p.stderr)
            self.assertTrue(os.path.exists(os.path.join(root_of("r2"), "cluster.json")))
            # --force still refuses to pull the network from under a container.
            p = b("r2", "cluster", "leave", "--force", check=False)
            self.assertNotEqual(p.returncode, 0, p.stdout)
            self.assertIn("c-r2", p.stderr)
            self.assertTrue(os.path.exists(os.path.join(root_of("r2"), "cluster.json")))
            b("r2", "rm", "-f", "c-r2")
            p = b("r2", "cluster", "leave", "--force")
            self.assertIn("this host only", p.stdout)
            self.assertIn("berth node rm r2", p.stdout)
            self.assertIn("unreachable", p.stderr)
            # Left here: no membership, agent, routes, device or network.
            self.assertFalse(os.path.exists(os.path.join(root_of("r2"), "cluster.json")))
            self.assertTrue(wait_until(lambda: not status("r2").get("cluster"), timeout=5),
                            status("r2"))
            self.assertEqual(routes("r2"), {})
            self.assertNotIn("berth.vxlan", links("r2"))
            self.assertNotIn("cluster",
                             [n["name"] for n in bj("r2", "network", "ls", "--format", "json")])
        finally:
            self.world.start_etcd()
        # etcd still holds r2's subnet (and peers their route to it) until `node rm`.
        self.assertIn(sub2, routes("r1"))
        self.assertTrue(wait_until(lambda: etcdctl(
            "get", "--print-value-only", "/berth/subnets/" + sub2.replace("/", "-"),
            check=False).stdout.strip() == "r2", timeout=10))
        self.assertTrue(wait_until(lambda: status("r1")["cluster"]["ready"], timeout=10))
        b("r1", "node", "rm", "r2")
        self.assertTrue(wait_until(lambda: sub2 not in routes("r1"), timeout=2), routes("r1"))
        self.assertEqual(etcdctl("get", "--prefix", "/berth/subnets/" +
                                 sub2.replace("/", "-")).stdout.strip(), "")

    def test_5_joins_and_inits_that_cannot_work_are_refused_leaving_nothing(self):
        def refused(host, *args, says):
            p = b(host, *args, check=False)
            self.assertNotEqual(p.returncode, 0, p.stdout)
            self.assertIn(says, p.stderr)

        for cidr in ("127.0.0.0/16", "169.254.0.0/16", "224.0.0.0/8", "0.0.0.0/8"):
            refused("r4", "cluster", "init", "--etcd", ETCD, "--etcd-prefix", "/bad",
                    "--cidr", cidr, says="overlaps")
        join = ["cluster", "join", "--etcd", ETCD, "--node", "r4", "--node-ip", "198.18.0.14"]
        refused("r4", *join, "--iface", "nosuchdev", says="no such device")
        refused("r4", *join, "--mtu", "9000", says="larger than")
        refused("r4", *join, "--etcd-cert", "/nonexistent.pem", says="--etcd-key")
        refused("r4", *join, "--etcd-cert", "/nonexistent.pem", "--etcd-key", "/nonexistent.key",
                says="cannot read")
        b("r4", "cluster", "init", "--etcd", ETCD, "--etcd-prefix", "/under",
          "--cidr", "198.18.0.0/16")
        refused("r4", "cluster", "join", "--etcd", ETCD, "--etcd-prefix", "/under", "--node", "r4",
                "--node-ip", "198.18.0.14", says="contains this node's IP")
        # A failure after the claim (a device of another kind in the way) gives it back.
        at("r4", "ip", "link", "add", "berth.vxlan", "type", "bridge")
        try:
            refused("r4", *join, says="not vxlan")
        finally:
            at("r4", "ip", "link", "del", "berth.vxlan")
        # Nothing claimed, no device, no membership.
        self.assertEqual(etcdctl("get", "--prefix", "/berth/nodes/r4").stdout.strip(), "")
        self.assertEqual(etcdctl("get", "--prefix", "/under/subnets").stdout.strip(), "")
        self.assertNotIn("berth.vxlan", links("r4"))
        self.assertFalse(os.path.exists(os.path.join(root_of("r4"), "cluster.json")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
