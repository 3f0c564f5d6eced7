"""Services across the cluster (issue 13 on the multi-host cluster of issue 12), as a user sees
it: three simulated hosts (cluster_world.py: h1 and h2 on one L2 segment, host-gw between them,
h3 behind a router, vxlan), one backend labelled app=web on each, one service on `cluster`.

- The service lives in etcd and every node programs it: `service inspect` on each node lists
  the three backends with their `node`; the name resolves to the VIP on every node.
- A client container on each host reaches backends on all three hosts through the VIP, and a
  backend on another host sees the client container's own address (no SNAT between hosts).
- A backend that stops leaves every node's backends within about a second; `service rm` on
  one node removes the service (and its nftables chains) everywhere; with etcd unreachable a
  create is refused with a clear error and changes nothing.
- --publish answers on every node's underlay address, and each host reaches the VIP itself."""

import json
import subprocess
import time
import unittest

from harness import BERTH, run, wait_until
from cluster_world import CIDR, ETCD, ETCD_IP, World, at, b, berthd_log, bj, cip, root_of

HOSTS = {"h1": "198.18.0.1", "h2": "198.18.0.2", "h3": "198.18.1.3"}
# Each backend answers with its own name and the address it saw the client at.
ECHO = "socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo {name} $SOCAT_PEERADDR'"


def inspect(host, name="web"):
    p = b(host, "service", "inspect", name, "--format", "json", check=False)
    if p.returncode != 0:
        return None
    doc = json.loads(p.stdout)
    return doc[0] if isinstance(doc, list) else doc


def backend_nodes(host):
    s = inspect(host)
    return sorted(bk.get("node", "") for bk in s["backends"]) if s else None


def ask(host, client, ip, port=80):
    """One new connection from `client` on `host` to ip:port: (backend name, peer seen)."""
    p = b(host, "exec", client, "--", "socat", "-T2", "-", f"TCP:{ip}:{port},connect-timeout=2",
          check=False)
    words = p.stdout.split()
    return (words[0], words[1]) if len(words) == 2 else None


def ask_from_underlay(ip, port):
    p = run(["ip", "netns", "exec", "etcd", "socat", "-T2", "-",
             f"TCP:{ip}:{port},connect-timeout=2"], check=False)
    words = p.stdout.split()
    return words[0] if len(words) == 2 else None


def service_chains(host):
    ruleset = json.loads(at(host, "nft", "-j", "list", "ruleset").stdout)["nftables"]
    return [o["chain"]["name"] for o in ruleset
            if "chain" in o and o["chain"]["name"].startswith("svc-")]


class ClusterServicesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.world = World(HOSTS)
        b("h1", "cluster", "init", "--etcd", ETCD, "--cidr", CIDR, "--backend", "auto")
        for host, ip in HOSTS.items():
            b(host, "cluster", "join", "--etcd", ETCD, "--node", host, "--node-ip", ip)
        for host in HOSTS:
            b(host, "run", "-d", "--name", f"web-{host}", "--network", "cluster", "--label",
              "app=web", "--", "sh", "-c", ECHO.format(name=f"web-{host}"))
            b(host, "run", "-d", "--name", f"c-{host}", "--network", "cluster", "--",
              "sleep", "600")

    @classmethod
    def tearDownClass(cls):
        cls.world.close()

    def test_1_service_everywhere_with_backends_on_every_node(self):
        out = b("h1", "service", "create", "web", "--network", "cluster", "--selector", "app=web",
                "--port", "80", "--balance", "round-robin", "--publish", "30080:80",
                "--format", "json")
        vip = json.loads(out.stdout)["vip"]
        for host in HOSTS:
            self.assertTrue(wait_until(lambda: backend_nodes(host) == sorted(HOSTS), timeout=5),
                            f"{host}: {inspect(host)}\n{berthd_log(host)}")
            s = inspect(host)
            self.assertEqual(s["vip"], vip)
            names = {bk["container"]: bk for bk in s["backends"]}
            self.assertEqual(set(names), {f"web-{h}" for h in HOSTS})
            for h in HOSTS:
                self.assertEqual(names[f"web-{h}"]["node"], h)
                self.assertEqual(names[f"web-{h}"]["ip"], cip(h, f"web-{h}"))
            # The name resolves to the VIP on every node.
            p = b(host, "exec", f"c-{host}", "--", "getent", "hosts", "web", check=False)
            self.assertEqual(p.stdout.split()[:1], [vip], p.stdout + p.stderr)
        # The name and the VIP are the cluster's: taken on another node too.
        p = b("h3", "service", "create", "web", "--network", "cluster", "--selector", "app=x",
              "--port", "81", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("already exists", p.stderr)
        p = b("h2", "service", "create", "other", "--network", "cluster", "--selector", "app=x",
              "--port", "81", "--vip", vip, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(vip, p.stderr)
        self.assertIsNone(inspect("h2", "other"))

    def test_2_clients_on_every_host_reach_backends_on_every_host_with_their_own_ip(self):
        vip = inspect("h1")["vip"]
        for host in HOSTS:
            client_ip = cip(host, f"c-{host}")
            seen = {}
            for _ in range(9):  # round robin: three rounds over the three backends
                got = ask(host, f"c-{host}", vip)
                self.assertIsNotNone(got, f"{host} -> {vip}\n{berthd_log(host)}")
                seen.setdefault(got[0], set()).add(got[1])
            self.assertEqual(set(seen), {f"web-{h}" for h in HOSTS}, f"from {host}: {seen}")
            for h in HOSTS:
                if h != host:  # across hosts: no SNAT, the backend sees the client itself
                    self.assertEqual(seen[f"web-{h}"], {client_ip}, f"{host} -> web-{h}")

    def test_2_the_hosts_themselves_reach_backends_on_every_host(self):
        vip = inspect("h1")["vip"]
        for host in HOSTS:
            seen = set()
            for _ in range(6):
                p = at(host, "socat", "-T2", "-", f"TCP:{vip}:80,connect-timeout=2", check=False)
                words = p.stdout.split()
                self.assertEqual(len(words), 2, f"{host} -> {vip}: {p.stdout!r} {p.stderr}")
                seen.add(words[0])
            self.assertEqual(seen, {f"web-{h}" for h in HOSTS}, f"from {host}")

    def test_3_a_backend_that_stops_leaves_every_node(self):
        b("h3", "stop", "-t", "1", "web-h3")
        t0 = time.monotonic()
        for host in HOSTS:
            self.assertTrue(wait_until(lambda: backend_nodes(host) == ["h1", "h2"], timeout=3),
                            f"{host}: {inspect(host)}")
        print(f"\n  backend gone from every node after {(time.monotonic() - t0) * 1000:.0f} ms")
        vip = inspect("h2")["vip"]
        for _ in range(6):
            got = ask("h2", "c-h2", vip)
            self.assertIsNotNone(got)
            self.assertNotEqual(got[0], "web-h3")
        b("h3", "start", "web-h3")
        for host in HOSTS:
            self.assertTrue(wait_until(lambda: backend_nodes(host) == sorted(HOSTS), timeout=3),
                            f"{host}: {inspect(host)}")

    def test_4_publish_answers_on_every_node(self):
        for host, ip in HOSTS.items():
            seen = set()
            for _ in range(6):
                got = ask_from_underlay(ip, 30080)
                self.assertIsNotNone(got, f"{ip}:30080\n{berthd_log(host)}")
                seen.add(got)
            self.assertEqual(seen, {f"web-{h}" for h in HOSTS}, f"via {host}")

    def test_4_a_refused_leave_keeps_the_service(self):
        # Containers are attached on h3: leave is refused and changes nothing, its copy of the
        # cluster's service included (the copies go with the network, in one operation).
        p = b("h3", "cluster", "leave", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("active endpoints", p.stderr)
        self.assertIsNotNone(inspect("h3"))
        self.assertTrue(service_chains("h3"))
        self.assertEqual(ask("h3", "c-h3", inspect("h3")["vip"])[0][:4], "web-")

    def test_5_rm_on_one_node_removes_it_everywhere(self):
        self.assertTrue(all(service_chains(h) for h in HOSTS))
        b("h2", "service", "rm", "web")
        for host in HOSTS:
            self.assertTrue(wait_until(lambda: inspect(host) is None, timeout=3), host)
            self.assertTrue(wait_until(lambda: not service_chains(host), timeout=3),
                            f"{host}: {service_chains(host)}")
            p = b(host, "exec", f"c-{host}", "--", "getent", "hosts", "web", check=False)
            self.assertNotEqual(p.returncode, 0, p.stdout)

    def test_6_etcd_unreachable_is_said_and_changes_nothing(self):
        self.world.stop_etcd()
        try:
            p = b("h1", "service", "create", "db", "--network", "cluster", "--selector",
                  "app=db", "--port", "5432", check=False)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("etcd is unreachable", p.stderr)
            self.assertIn("nothing changed", p.stderr)
            self.assertIsNone(inspect("h1", "db"))
            self.assertEqual(service_chains("h1"), [])
        finally:
            self.world.start_etcd()


if __name__ == "__main__":
    unittest.main(verbosity=2)
