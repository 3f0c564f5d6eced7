"""Cluster events and gauges (issue 14), as one node's berthd sees them: a node joined, lost
(its heartbeat expired), ready again and removed appear in `berth events`, and /metrics has
berth_cluster_etcd_reachable, berth_cluster_peers_ready and berth_cluster_fenced. Two simulated
hosts and a real etcd (cluster_world.py), in a sandbox of its own."""

import json
import os
import socket
import time
import unittest

from harness import main, wait_until
from cluster_world import ETCD, World, b, etcdctl, root_of


def put(key, value):
    """etcdctl put, again when a loaded machine makes etcd miss its deadline."""
    for _ in range(5):
        if etcdctl("put", key, value, check=False).returncode == 0:
            return
        time.sleep(0.5)
    etcdctl("put", key, value)


def scrape(host):
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(os.path.join(root_of(host), "berthd.sock"))
        s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        resp = b""
        while chunk := s.recv(65536):
            resp += chunk
    return resp.decode().split("\r\n\r\n", 1)[1]


def gauge(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def node_events(host):
    out = b(host, "events", "--format", "json").stdout
    return [e for e in (json.loads(l) for l in out.splitlines()) if e["type"] == "node"]


class ClusterEventsTest(unittest.TestCase):
    HOSTS = {"h1": "198.18.0.1", "h2": "198.18.0.2"}

    @classmethod
    def setUpClass(cls):
        cls.world = World(cls.HOSTS)
        b("h1", "cluster", "init", "--etcd", ETCD, "--cidr", "10.244.0.0/16",
          "--backend", "host-gw")
        for host, ip in cls.HOSTS.items():
            b(host, "cluster", "join", "--etcd", ETCD, "--node", host, "--node-ip", ip)

    @classmethod
    def tearDownClass(cls):
        cls.world.close()

    def test_gauges_and_node_events(self):
        self.assertTrue(wait_until(lambda: gauge(scrape("h1"), "berth_cluster_peers_ready") == 1,
                                   timeout=10), scrape("h1"))
        text = scrape("h1")
        self.assertEqual(gauge(text, "berth_cluster_etcd_reachable"), 1)
        self.assertEqual(gauge(text, "berth_cluster_fenced"), 0)
        # A third node joins (its record and heartbeat), dies (the heartbeat goes), comes back
        # and is removed.
        put("/berth/subnets/10.244.250.0-24", "ghost")
        put("/berth/nodes/ghost", json.dumps(
            {"name": "ghost", "node_ip": "198.18.0.77", "subnet": "10.244.250.0/24",
             "vtep_mac": "", "backend": "host-gw", "mtu": 1500}))
        put("/berth/alive/ghost", str(int(time.time())))
        self.assertTrue(wait_until(lambda: any(e["action"] == "join" and e["name"] == "ghost"
                                               for e in node_events("h1")), timeout=10))
        self.assertTrue(wait_until(lambda: gauge(scrape("h1"), "berth_cluster_peers_ready") == 2,
                                   timeout=10))
        etcdctl("del", "/berth/alive/ghost")
        self.assertTrue(wait_until(lambda: any(e["action"] == "lost" and e["name"] == "ghost"
                                               for e in node_events("h1")), timeout=10),
                        node_events("h1"))
        self.assertEqual(gauge(scrape("h1"), "berth_cluster_peers_ready"), 1)
        put("/berth/alive/ghost", str(int(time.time())))
        self.assertTrue(wait_until(lambda: any(e["action"] == "ready" and e["name"] == "ghost"
                                               for e in node_events("h1")), timeout=10))
        etcdctl("del", "/berth/alive/ghost")  # dead for good, then removed
        b("h2", "node", "rm", "ghost")
        self.assertTrue(wait_until(lambda: any(e["action"] == "remove" and e["name"] == "ghost"
                                               for e in node_events("h1")), timeout=10),
                        node_events("h1"))
        # The live nodes were never lost nor removed (h1's own heartbeat may start after its
        # berthd first looked: "ready" is fine).
        self.assertFalse(any(e["name"] in self.HOSTS and e["action"] in ("lost", "remove")
                             for e in node_events("h1")), node_events("h1"))


if __name__ == "__main__":
    main()
