"""`berth events` (issue 14): what berthd saw change in the store (networks, containers,
attaches, ports, services and their backends) and the firewall restores it made, newest last;
--since and --format json. The cluster's node events: test_cluster_events.py."""

import json
import subprocess
import time

from harness import (BERTH, ROOT, BerthTest, berth, berth_json, berthd_pid, main, run,
                     wait_until)


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


if __name__ == "__main__":
    main()
