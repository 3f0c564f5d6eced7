"""A process killed at any instant leaves nothing berth cannot find and repair: kill -9 at
random points of `run -p`, `rm`, `network create`, CNI ADD and DEL; then `berth system
reconcile`; then no veth, netns mount or file, bridge, address, DNAT element, stuck container
or intent is left once everything is removed the normal way, and a new container never
inherits a port a killed `run -p` had taken. (bench/crash_torture.py runs 100 kills per kind.)"""

import json
import os

from crash_torture import PORT_SETS, leaks, port_elements, torture
from harness import (ROOT, BerthTest, berth, berth_json, berthd_pid, main, nft_elements,
                     root_files, run)

N = int(os.environ.get("BERTH_CRASH_N", "6"))


class CrashTest(BerthTest):
    def test_kills_leave_nothing_reconcile_cannot_repair(self):
        torture(N)
        first = json.loads(berth("system", "reconcile", "--format", "json").stdout)
        again = json.loads(berth("system", "reconcile", "--dry-run", "--format", "json").stdout)
        self.assertEqual(again["repairs"], [], f"reconcile left work: {again}\nfirst: {first}")
        self.assertEqual(first["errors"], [])
        # No container is stuck in `created`, and every published port belongs to a record.
        for c in berth_json("ps", "-a", "--format", "json"):
            if not c.get("cni"):
                self.assertNotEqual(c.get("state"), "created", c)
        recorded = set()
        for c in berth_json("ps", "-a", "--format", "json"):
            for net in berth_json("inspect", c["name"]).get("networks", {}).values():
                for p in net.get("ports", []):
                    recorded.add(p["host_port"])
        for e in nft_elements("pub_port_addr") or []:
            key = e["elem"]["key"]["concat"] if "elem" in e else e[0]["concat"]
            self.assertIn(key[1], recorded, f"a DNAT element no container holds: {e}")
        # A new container gets a leftover's address at most, never its published port.
        berth("run", "-d", "--name", "fresh", "--network", "web", "--", "sleep", "300")
        ip = berth_json("inspect", "fresh")["networks"]["web"]["ip"]
        self.assertNotIn(ip, json.dumps([nft_elements(s) for s in PORT_SETS]))
        left = leaks(N)
        self.assertEqual({k: v for k, v in left.items() if v}, {}, "leaked after crashes")

    def test_reconcile_dry_run_changes_nothing(self):
        berth("network", "create", "web")
        berth("run", "-d", "--name", "a", "--network", "web", "-p", "18080:80", "--", "sleep", "300")
        berth("system", "reconcile")
        before = port_elements()
        # Damage only a dry run may look at: a stray namespace file and container directory.
        os.makedirs(os.path.join(os.environ.get("BERTH_TEST_ROOT", "/run/berth-test"),
                                 "containers", "0" * 64), exist_ok=True)
        out = json.loads(berth("system", "reconcile", "--dry-run", "--format", "json").stdout)
        self.assertTrue(any("would remove" in r for r in out["repairs"]), out)
        self.assertEqual(port_elements(), before)
        out = json.loads(berth("system", "reconcile", "--format", "json").stdout)
        self.assertTrue(any("remove" in r and "0000" in r for r in out["repairs"]), out)
        out = json.loads(berth("system", "reconcile", "--dry-run", "--format", "json").stdout)
        self.assertEqual(out["repairs"], [])


class WithoutBerthdTest(BerthTest):
    """Without berthd, the next berth command repairs a flushed firewall before it works."""

    def test_next_command_restores_a_flushed_table(self):
        berth("network", "create", "quiet", "-o", "dns=false")  # no DNS: berthd never starts
        berth("run", "-d", "--name", "a", "--network", "quiet", "-p", "18080:80", "--",
              "sleep", "300")
        self.assertIsNone(berthd_pid())
        before = port_elements()
        self.assertTrue(before)
        run(["nft", "flush", "ruleset"])
        self.assertEqual(port_elements(), [])
        berth("run", "-d", "--name", "b", "--network", "quiet", "--", "sleep", "300")
        self.assertEqual(port_elements(), before)
        self.assertIn("br-", json.dumps(nft_elements("bridges")))


class RebuildStateTest(BerthTest):
    """A lost store: berth refuses to start over silently, and `system reconcile
    --rebuild-state` recovers the networks from berth's bridges and removes the rest."""

    def test_lost_store_is_refused_then_rebuilt(self):
        berth("network", "create", "keep", "--subnet", "10.161.0.0/24", "-o", "dns=false")
        doc = berth_json("network", "inspect", "keep")
        bridge = (doc[0] if isinstance(doc, list) else doc)["bridge"]
        berth("run", "-d", "--name", "a", "--network", "keep", "-p", "18080:80", "--",
              "sleep", "300")
        for suffix in ("", "-wal", "-shm"):
            path = os.path.join(ROOT, "berth.db" + suffix)
            if os.path.exists(path):
                os.remove(path)
        p = berth("network", "ls", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("--rebuild-state", p.stderr)
        out = json.loads(berth("system", "reconcile", "--rebuild-state", "--format",
                               "json").stdout)
        self.assertTrue(any(f"from bridge {bridge}" in r for r in out["repairs"]), out)
        self.assertIn(bridge, [n["name"] for n in berth_json("network", "ls", "--format", "json")])
        self.assertEqual(port_elements(), [])  # the lost container's port is not published
        self.assertEqual(root_files("netns"), [])
        berth("run", "-d", "--name", "b", "--network", bridge, "--", "sleep", "300")
        ip = berth_json("inspect", "b")["networks"][bridge]["ip"]
        self.assertTrue(ip.startswith("10.161.0."), ip)


if __name__ == "__main__":
    main()
