"""Twenty nodes join one cluster at the same moment (issue 12): every `berth cluster join` wins
a distinct subnet (etcd's compare-and-swap claim, never two holders) and every agent routes to
all the others.

Each node is a simulated host of its own (cluster_world: a network namespace, a state root and
a berthd) on one L2 segment, 198.18.2.1-20 on br2, so the cluster's `auto` backend is host-gw.
Not one netns for all: bridge names are per state root, but `berth.vxlan` (made by every join
with backend auto, its local address the node IP) and the routes to peers are per namespace,
so 20 agents there would fight over them (not tried); one namespace per node, as on real hosts."""

import ipaddress
import json
import subprocess
import unittest

from harness import BERTH, wait_until
from cluster_world import CIDR, ETCD, World, b, bj, root_of, routes

N = 20
HOSTS = {f"s{i:02d}": f"198.18.2.{i}" for i in range(1, N + 1)}


class ClusterScaleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.world = World(HOSTS)

    @classmethod
    def tearDownClass(cls):
        cls.world.close()

    def test_twenty_concurrent_joins_get_distinct_subnets(self):
        b("s01", "cluster", "init", "--etcd", ETCD, "--cidr", CIDR, "--backend", "auto")
        procs = {host: subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{host}", BERTH, "--root", root_of(host), "cluster",
             "join", "--etcd", ETCD, "--node", host, "--node-ip", ip],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for host, ip in HOSTS.items()}
        for host, p in procs.items():
            out, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 0, f"{host}: {out}{err}")
            self.assertIn(f"joined as node {host}", out)
        nodes = {n["name"]: n for n in bj("s01", "node", "ls", "--format", "json")["nodes"]}
        self.assertEqual(set(nodes), set(HOSTS))
        subnets = [ipaddress.ip_network(n["subnet"]) for n in nodes.values()]
        self.assertEqual(len(set(subnets)), N, subnets)
        for s in subnets:
            self.assertTrue(s.subnet_of(ipaddress.ip_network(CIDR)), s)
        for host, n in nodes.items():
            self.assertEqual(n["node_ip"], HOSTS[host])
            with open(f"{root_of(host)}/cluster.json") as f:
                self.assertEqual(json.load(f)["subnet"], n["subnet"], host)
        # Every agent routes to its 19 peers, each via the peer's node IP (host-gw).
        for host in HOSTS:
            self.assertTrue(wait_until(lambda: len(routes(host)) == N - 1, timeout=30),
                            f"{host}: {sorted(routes(host))}")
            r = routes(host)
            for peer, n in nodes.items():
                if peer != host:
                    self.assertEqual(r[n["subnet"]]["gateway"], HOSTS[peer], (host, peer))


if __name__ == "__main__":
    unittest.main(verbosity=2)
