"""After `rm` and `network rm`, nothing berth made is left: no link, no netns bind mount, no
file, no state row. And `network prune` removes exactly the networks nobody uses."""

import os

from harness import (ROOT, BerthTest, berth, berth_json, host_links, in_container, main,
                     process_gone, ps, read, root_files, root_mounts, run, state_snapshot, wait_until)


def pids_of(cmdline):
    """Live processes whose command line is `cmdline` (zombies excluded)."""
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline") as f:
                if f.read().replace("\0", " ").strip() == cmdline and not process_gone(int(pid)):
                    out.append(int(pid))
        except OSError:
            pass
    return out


def netns_mounts():
    """Bind mounts of container namespaces (the netns directory itself is not one of them)."""
    return [m for m in root_mounts() if m.startswith(os.path.join(ROOT, "netns") + "/")]


class CleanupTest(BerthTest):
    def assertNothingOfBerthLeft(self, before):
        after = state_snapshot()
        self.assertEqual(after["links"], before["links"])
        self.assertEqual([l for l in host_links() if l.startswith(("veth", "br-"))], [])
        self.assertEqual(after["addrs"], before["addrs"])
        self.assertEqual(after["routes"], before["routes"])
        self.assertEqual(netns_mounts(), [])
        self.assertEqual(root_mounts(), [])  # not even the netns directory's own
        self.assertEqual(root_files("netns"), [])
        self.assertEqual(root_files("containers"), [])
        self.assertEqual(berth_json("ps", "-a", "--format", "json"), [])
        self.assertEqual([n["name"] for n in berth_json("network", "ls", "--format", "json")],
                         ["bridge"])

    def test_rm_and_network_rm_leave_nothing(self):
        berth("network", "ls")  # the state root exists: its database is not "something left"
        before = state_snapshot()
        berth("network", "create", "web")
        berth("network", "create", "db", "--subnet", "172.30.0.0/24")
        berth("run", "-d", "--name", "a", "--network", "web", "--", "sleep", "300")
        berth("run", "-d", "--name", "b", "--network", "db", "--", "sleep", "300")
        berth("run", "--name", "done", "--network", "web", "--", "true")
        berth("run", "-d", "--name", "joined", "--network", "container:a", "--", "sleep", "300")
        berth("run", "-d", "--name", "n", "--network", "none", "--", "sleep", "300")
        berth("run", "-d", "--name", "h", "--network", "host", "--", "sleep", "300")
        made = {name: berth_json("inspect", name)
                for name in ("a", "b", "done", "joined", "n", "h")}
        nets = {n: berth_json("network", "inspect", n) for n in ("web", "db")}
        # What there is to clean up: two veths (`done` exited and let go of its network, as
        # with Docker), two bridges, four netns bind mounts.
        self.assertTrue(wait_until(lambda: berth_json("inspect", "done")["networks"] == {}))
        made["done"] = berth_json("inspect", "done")
        veths = {c["networks"][n]["host_veth"] for c in made.values() for n in c["networks"]}
        self.assertEqual(len(veths), 2)
        self.assertTrue(veths <= host_links())
        self.assertTrue({nets["web"]["bridge"], nets["db"]["bridge"]} <= host_links())
        self.assertEqual(len(netns_mounts()), 4)
        self.assertEqual(len(root_files("containers")), 6)

        berth("rm", "-f", "joined", "h")
        berth("rm", "-f", "a", "b", "done", "n")
        for c in made.values():
            if c["pid"]:
                self.assertTrue(wait_until(lambda: process_gone(c["pid"])), c["name"])
        berth("network", "rm", "web", "db")
        self.assertNothingOfBerthLeft(before)
        # Removed for real, not only out of sight: no namespace file to enter any more.
        for c in made.values():
            if c["mode"] != "host":
                self.assertFalse(os.path.exists(c["netns"]["path"]))

    def test_no_container_holds_another_containers_netns_mount(self):
        # Each container's mount namespace starts as a copy of the host's. It must not keep
        # copies of other containers' netns mounts (they would keep removed namespaces alive,
        # and every new mount would propagate into every container): neither the ones that
        # existed when it started nor the ones made later.
        berth("network", "create", "web")
        berth("run", "-d", "--name", "a", "--network", "web", "--", "sleep", "300")
        berth("run", "-d", "--name", "b", "--network", "web", "--", "sleep", "300")
        berth("run", "-d", "--name", "c", "--network", "web", "--", "sleep", "300")
        paths = {n: berth_json("inspect", n)["netns"]["path"] for n in ("a", "b", "c")}
        self.assertIn(paths["a"], read("/proc/self/mountinfo"))  # the host has them all
        for name in ("a", "b", "c"):
            mounts = in_container(name, "cat", "/proc/self/mountinfo").stdout
            for other, path in paths.items():
                self.assertNotIn(path, mounts, f"{other}'s netns mount inside {name}")
        berth("rm", "-f", "a")
        self.assertNotIn(paths["a"], read("/proc/self/mountinfo"))

    def test_rm_of_a_container_whose_process_died(self):
        berth("network", "ls")
        before = state_snapshot()
        berth("network", "create", "web")
        berth("run", "-d", "--name", "a", "--network", "web", "--", "sleep", "300")
        pid = berth_json("inspect", "a")["pid"]
        os.kill(pid, 9)
        self.assertTrue(wait_until(lambda: ps() == []))
        berth("rm", "a")
        berth("network", "rm", "web")
        self.assertNothingOfBerthLeft(before)

    def test_rm_is_idempotent_about_what_is_already_gone(self):
        # Someone deleted the veth and the namespace by hand: rm still cleans up the rest.
        berth("network", "ls")
        before = state_snapshot()
        berth("network", "create", "web")
        berth("run", "-d", "--name", "a", "--network", "web", "--", "sleep", "300")
        c = berth_json("inspect", "a")
        run(["ip", "link", "del", c["networks"]["web"]["host_veth"]])
        berth("rm", "-f", "a")
        berth("network", "rm", "web")
        self.assertNothingOfBerthLeft(before)

    def test_rm_takes_the_processes_the_command_left_behind(self):
        # The container's PID namespace: what the command forked ends when its PID 1 exits
        # (b, c); what a running container forked goes with `rm -f` (a).
        berth("network", "create", "web")
        marker = "sleep 1237"
        berth("run", "-d", "--name", "a", "--network", "web", "--", "sh", "-c",
              f"{marker} & exec sleep 300")
        berth("run", "-d", "--name", "b", "--network", "web", "--", "sh", "-c",
              f"{marker} & exit 0")
        berth("run", "--rm", "--name", "c", "--network", "web", "--", "sh", "-c",
              f"{marker} >/dev/null 2>&1 &")
        self.assertTrue(wait_until(lambda: len(pids_of(marker)) == 1), pids_of(marker))
        self.assertTrue(wait_until(lambda: ps() == ["a"]))
        berth("rm", "-f", "a")
        self.assertTrue(wait_until(lambda: len(pids_of(marker)) == 0), pids_of(marker))
        berth("rm", "b")
        self.assertEqual(pids_of(marker), [])


class PruneTest(BerthTest):
    def test_prune_removes_unused_networks_only(self):
        for n in ("n1", "n2", "n3"):
            berth("network", "create", n)
        berth("run", "-d", "--name", "a", "--network", "n2", "--", "sleep", "300")
        bridges = {n: berth_json("network", "inspect", n)["bridge"] for n in ("n1", "n2", "n3")}
        out = berth("network", "prune").stdout
        self.assertEqual(out.split(), ["Deleted", "networks:", "n1", "n3"])
        self.assertEqual([n["name"] for n in berth_json("network", "ls", "--format", "json")],
                         ["bridge", "n2"])
        links = host_links()
        self.assertNotIn(bridges["n1"], links)
        self.assertNotIn(bridges["n3"], links)
        self.assertIn(bridges["n2"], links)
        # The container is untouched, and once it is gone its network goes too.
        self.assertTrue(in_container("a", "true").returncode == 0)
        berth("rm", "-f", "a")
        self.assertEqual(berth("network", "prune").stdout.split(), ["Deleted", "networks:", "n2"])
        self.assertNotIn(bridges["n2"], host_links())
        self.assertEqual(berth("network", "prune").stdout, "")

    def test_prune_keeps_the_default_network(self):
        berth("run", "-d", "--name", "a", "--", "sleep", "300")
        berth("rm", "-f", "a")
        berth("network", "prune")
        self.assertEqual([n["name"] for n in berth_json("network", "ls", "--format", "json")],
                         ["bridge"])


if __name__ == "__main__":
    main()
