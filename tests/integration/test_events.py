"""`berth events` (issue 14): what berthd saw change in the store (networks, containers,
attaches, ports, services and their backends) and the firewall restores it made, newest last;
--since and --format json. Clustered: node joined, lost (its heartbeat expired), ready again
and removed, as one node's berthd sees them, and the cluster gauges of its /metrics."""

import json
import os
import socket
import subprocess
import time
import unittest

from harness import (BERTH, ROOT, BerthTest, berth, berth_json, berthd_pid, main, run,
                     wait_until)
from cluster_world import ETCD, World, b, etcdctl, root_of


def events(*args):
    out = berth("events", "--format", "json", *args).stdout
    return [json.loads(line) for line in out.splitlines()]


def has(evs, type_, action, name, **attrs):
    return any(e["type"] == type_ and e["action"] == action and e["name"] == name and
               all(e["attributes"].get(k) == v for k, v in attrs.items()) for e in evs)


class EventsTest(BerthTest):
    def test_lifecycle_is_recorded(self):
        berth("network", "create", "app")
        berth("run", "-d", "--name", "a", "--network", "app", "--", "sleep", "600")
        self.assertTrue(wait_until(lambda: berthd_pid() is not None))
        self.assertTrue(wait_until(lambda: has(events(), "daemon", "start", "berthd")))
        berth("network", "create", "other")
        berth("run", "-d", "--name", "b", "--network", "app", "-p", "8080:80", "--",
              "sleep", "600")
        berth("network", "connect", "other", "b")
        berth("rm", "-f", "b")
        berth("network", "rm", "other")
        want = [("network", "create", "other", {}),
                ("container", "create", "b", {}),
                ("container", "start", "b", {}),
                ("endpoint", "attach", "b", {"network": "app"}),
                ("endpoint", "attach", "b", {"network": "other"}),
                ("endpoint", "detach", "b", {"network": "other"}),
                ("container", "remove", "b", {}),
                ("network", "remove", "other", {})]
        ok = wait_until(lambda: all(has(events(), t, a, n, **kw) for t, a, n, kw in want))
        self.assertTrue(ok, json.dumps(events(), indent=1))
        self.assertTrue(any(e["type"] == "port" and e["action"] == "publish" and
                            e["name"].startswith("8080->80/tcp") for e in events()))
        times = [e["time"] for e in events()]
        self.assertEqual(times, sorted(times))
        # Text, and --since leaving the old ones out.
        text = berth("events").stdout
        self.assertIn("network create other", text)
        time.sleep(1.1)
        self.assertEqual(events("--since", "1s"), [])
        self.assertNotEqual(events("--since", "1h"), [])
        p = berth("events", "--since", "yesterday", check=False)
        self.assertNotEqual(p.returncode, 0)

    def test_service_backends_changes_are_recorded(self):
        berth("network", "create", "app", "--subnet", "10.79.0.0/24")
        berth("run", "-d", "--name", "w1", "--network", "app", "--label", "app=web", "--",
              "sleep", "600")
        self.assertTrue(wait_until(lambda: has(events(), "daemon", "start", "berthd")))
        berth("service", "create", "web", "--network", "app", "--selector", "app=web",
              "--port", "80")
        self.assertTrue(wait_until(lambda: has(events(), "service", "create", "web",
                                               backends="1")))
        berth("run", "-d", "--name", "w2", "--network", "app", "--label", "app=web", "--",
              "sleep", "600")
        ip2 = berth_json("inspect", "w2")["networks"]["app"]["ip"]
        self.assertTrue(wait_until(lambda: has(events(), "service", "backends", "web",
                                               service="web", removed="", backends="2")),
                        json.dumps(events(), indent=1))
        added = [e for e in events() if e["action"] == "backends"][-1]["attributes"]["added"]
        self.assertEqual(added, ip2)
        berth("rm", "-f", "w1")
        self.assertTrue(wait_until(lambda: has(events(), "service", "backends", "web",
                                               added="", backends="1")))
        berth("service", "rm", "web")
        self.assertTrue(wait_until(lambda: has(events(), "service", "remove", "web")))

    def test_firewall_restore_is_recorded(self):
        berth("network", "create", "app")
        berth("run", "-d", "--name", "a", "--network", "app", "--", "sleep", "600")
        self.assertTrue(wait_until(lambda: has(events(), "daemon", "start", "berthd")))
        run(["nft", "flush", "chain", "inet", "berth", "forward"])
        self.assertTrue(wait_until(lambda: has(events(), "firewall", "restore", "berth"),
                                   timeout=10))

    def test_follow_streams_new_events(self):
        berth("network", "create", "app")
        berth("run", "-d", "--name", "a", "--network", "app", "--", "sleep", "600")
        self.assertTrue(wait_until(lambda: has(events(), "daemon", "start", "berthd")))
        follow = subprocess.Popen([BERTH, "--root", ROOT, "events", "-f", "--format", "json",
                                   "--since", "1s"], stdout=subprocess.PIPE, text=True)
        try:
            time.sleep(0.3)
            berth("network", "create", "later")
            line = follow.stdout.readline()
            while line and json.loads(line)["name"] != "later":
                line = follow.stdout.readline()
            self.assertEqual(json.loads(line)["action"], "create")
        finally:
            follow.terminate()
            follow.wait(timeout=5)


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
        etcdctl("put", "/berth/subnets/10.244.250.0-24", "ghost")
        etcdctl("put", "/berth/nodes/ghost", json.dumps(
            {"name": "ghost", "node_ip": "198.18.0.77", "subnet": "10.244.250.0/24",
             "vtep_mac": "", "backend": "host-gw", "mtu": 1500}))
        etcdctl("put", "/berth/alive/ghost", str(int(time.time())))
        self.assertTrue(wait_until(lambda: any(e["action"] == "join" and e["name"] == "ghost"
                                               for e in node_events("h1")), timeout=10))
        self.assertTrue(wait_until(lambda: gauge(scrape("h1"), "berth_cluster_peers_ready") == 2,
                                   timeout=10))
        etcdctl("del", "/berth/alive/ghost")
        self.assertTrue(wait_until(lambda: any(e["action"] == "lost" and e["name"] == "ghost"
                                               for e in node_events("h1")), timeout=10),
                        node_events("h1"))
        self.assertEqual(gauge(scrape("h1"), "berth_cluster_peers_ready"), 1)
        etcdctl("put", "/berth/alive/ghost", str(int(time.time())))
        self.assertTrue(wait_until(lambda: any(e["action"] == "ready" and e["name"] == "ghost"
                                               for e in node_events("h1")), timeout=10))
        b("h2", "node", "rm", "ghost")
        self.assertTrue(wait_until(lambda: any(e["action"] == "remove" and e["name"] == "ghost"
                                               for e in node_events("h1")), timeout=10),
                        node_events("h1"))
        # h2 itself joined before this test looked, so h1's berthd learned it at start.
        self.assertFalse(any(e["name"] == "h1" and e["action"] != "join"
                             for e in node_events("h1")))


if __name__ == "__main__":
    main()
