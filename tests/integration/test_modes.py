"""The network modes of `berth run` besides bridge networks: none (a namespace with only lo),
host (no namespace of its own) and container:NAME (the pod model: join another container's
namespace)."""

import json
import os
import socket

from harness import (BerthTest, berth, berth_json, host_links, in_container, main, ping,
                     process_gone, run, state_snapshot, wait_until)


def links_of(name):
    return json.loads(in_container(name, "ip", "-j", "link").stdout)


def addrs_of(name, dev=None):
    argv = ["ip", "-j", "addr"] + (["show", "dev", dev] if dev else [])
    return json.loads(in_container(name, *argv).stdout)


class NoneModeTest(BerthTest):
    def test_only_loopback_up(self):
        berth("run", "-d", "--name", "n", "--network", "none", "--", "sleep", "300")
        links = links_of("n")
        self.assertEqual([l["ifname"] for l in links], ["lo"])
        self.assertIn("UP", links[0]["flags"])
        addrs = [(i["local"], i["prefixlen"]) for a in addrs_of("n") for i in a["addr_info"]]
        self.assertEqual(sorted(addrs), [("127.0.0.1", 8), ("::1", 128)])
        self.assertEqual(json.loads(in_container("n", "ip", "-j", "route").stdout), [])
        c = berth_json("inspect", "n")
        self.assertEqual(c["mode"], "none")
        self.assertEqual(c["networks"], {})
        self.assertNotEqual(c["netns"]["inode"], os.stat("/proc/self/ns/net").st_ino)
        self.assertEqual(c["netns"]["inode"], os.stat(f"/proc/{c['pid']}/ns/net").st_ino)
        # Its own loopback works.
        self.assertTrue(ping("n", "127.0.0.1"))

    def test_reaches_nothing(self):
        berth("network", "create", "web")
        berth("run", "-d", "--name", "a", "--network", "web", "--", "sleep", "300")
        berth("run", "-d", "--name", "n", "--network", "none", "--", "sleep", "300")
        a = berth_json("inspect", "a")["networks"]["web"]
        self.assertTrue(ping("a", a["gateway"]))  # the network itself works
        self.assertFalse(ping("n", a["ip"], wait=1))
        self.assertFalse(ping("n", a["gateway"], wait=1))
        # No link of the host leads into it: the only veth on the host is a's.
        self.assertEqual([l for l in host_links() if l.startswith("veth")], [a["host_veth"]])


class HostModeTest(BerthTest):
    def test_shares_the_hosts_namespace_links_and_hostname(self):
        # (A veth pair rather than a dummy link: the dummy module may not be loaded.)
        run(["ip", "link", "add", "hostdummy0", "type", "veth", "peer", "name", "hostdummy1"])
        self.addCleanup(run, ["ip", "link", "del", "hostdummy0"], check=False)
        before = state_snapshot()
        berth("run", "-d", "--name", "h", "--network", "host", "--", "sleep", "300")
        c = berth_json("inspect", "h")
        self.assertEqual(c["mode"], "host")
        self.assertEqual(c["networks"], {})
        host_inode = os.stat("/proc/self/ns/net").st_ino
        self.assertEqual(os.stat(f"/proc/{c['pid']}/ns/net").st_ino, host_inode)
        self.assertEqual(c["netns"]["inode"], host_inode)
        self.assertEqual({l["ifname"] for l in links_of("h")}, host_links())
        self.assertIn("hostdummy0", {l["ifname"] for l in links_of("h")})
        # Host mode makes nothing: no link, no address, no route, no namespace mount.
        after = state_snapshot()
        for key in ("links", "addrs", "routes", "mounts", "netns_files"):
            self.assertEqual(before[key], after[key], key)
        # The hostname defaults to the host's.
        self.assertEqual(c["hostname"], socket.gethostname())
        self.assertEqual(in_container("h", "hostname").stdout.strip(), socket.gethostname())

    def test_hostname_can_be_set_without_changing_the_hosts(self):
        berth("run", "-d", "--name", "h", "--network", "host", "--hostname", "hosty", "--",
              "sleep", "300")
        self.assertEqual(in_container("h", "hostname").stdout.strip(), "hosty")
        self.assertEqual(socket.gethostname(), run(["hostname"]).stdout.strip())
        self.assertNotEqual(socket.gethostname(), "hosty")

    def test_foreground_host_mode_sees_the_host(self):
        out = berth("run", "--rm", "--network", "host", "--", "ip", "-j", "link").stdout
        self.assertEqual({l["ifname"] for l in json.loads(out)}, host_links())
        self.assertEqual(berth_json("ps", "-a", "--format", "json"), [])


class ContainerModeTest(BerthTest):
    def setUp(self):
        super().setUp()
        berth("network", "create", "web")
        berth("run", "-d", "--name", "base", "--hostname", "pod", "--network", "web", "--",
              "sleep", "300")
        berth("run", "-d", "--name", "joined", "--network", "container:base", "--",
              "sleep", "300")

    def test_same_namespace_interface_and_address(self):
        base, joined = berth_json("inspect", "base"), berth_json("inspect", "joined")
        self.assertEqual(joined["mode"], "container:base")
        self.assertEqual(joined["netns"]["inode"], base["netns"]["inode"])
        self.assertEqual(os.stat(f"/proc/{joined['pid']}/ns/net").st_ino,
                         os.stat(f"/proc/{base['pid']}/ns/net").st_ino)
        # The joined container has no endpoint of its own: the base's eth0 is its eth0.
        self.assertEqual(joined["networks"], {})
        eth_base, eth_joined = addrs_of("base", "eth0")[0], addrs_of("joined", "eth0")[0]
        self.assertEqual(eth_joined["ifindex"], eth_base["ifindex"])
        self.assertEqual(eth_joined["address"], eth_base["address"])
        ip = base["networks"]["web"]["ip"]
        self.assertIn(ip, [i["local"] for i in eth_joined["addr_info"]])
        # One veth only: joining made no link on the host.
        veths = [l for l in host_links() if l.startswith("veth")]
        self.assertEqual(veths, [base["networks"]["web"]["host_veth"]])
        # And the joined container reaches the gateway through it.
        self.assertTrue(ping("joined", base["networks"]["web"]["gateway"]))

    def test_shared_loopback(self):
        # A server on 127.0.0.1 in the base answers a client in the joined container.
        in_container("base", "sh", "-c",
                     "socat TCP-LISTEN:7001,bind=127.0.0.1,reuseaddr "
                     "SYSTEM:'echo hello-from-base' >/dev/null 2>&1 &")
        out = in_container("joined", "sh", "-c",
                           "for i in $(seq 50); do "
                           "socat -T 2 - TCP:127.0.0.1:7001 2>/dev/null && break; sleep 0.1; done")
        self.assertIn("hello-from-base", out.stdout)
        # The listener is bound to loopback only: the host cannot reach it on the container IP.
        ip = berth_json("inspect", "base")["networks"]["web"]["ip"]
        p = run(["socat", "-T", "2", "-", f"TCP:{ip}:7001,connect-timeout=2"], check=False)
        self.assertNotEqual(p.returncode, 0)

    def test_shared_hostname_and_files(self):
        self.assertEqual(in_container("joined", "hostname").stdout.strip(), "pod")
        self.assertEqual(berth_json("inspect", "joined")["hostname"], "pod")
        self.assertEqual(in_container("joined", "cat", "/etc/hosts").stdout,
                         in_container("base", "cat", "/etc/hosts").stdout)
        # --hostname makes no sense for a container that takes another's.
        self.assertBadInput("run", "--network", "container:base", "--hostname", "other", "--",
                            "true", msg="--hostname cannot be used")

    def test_join_a_joined_container_joins_its_owner(self):
        berth("run", "-d", "--name", "third", "--network", "container:joined", "--",
              "sleep", "300")
        self.assertEqual(berth_json("inspect", "third")["netns"]["inode"],
                         berth_json("inspect", "base")["netns"]["inode"])

    def test_joining_a_stopped_container_fails_cleanly(self):
        berth("run", "--name", "stopped", "--network", "web", "--", "true")
        p = self.assertBadInput("run", "--name", "x", "--network", "container:stopped", "--",
                                "true", msg="not running")
        self.assertEqual(p.returncode, 125)
        self.assertIn("stopped", p.stderr)
        self.assertBadInput("run", "-d", "--network", "container:stopped", "--", "sleep", "300",
                            msg="not running")
        self.assertBadInput("run", "--network", "container:nosuch", "--", "true",
                            msg="no such container: nosuch")

    def test_rm_of_the_base_is_refused_while_joined(self):
        for force in ([], ["-f"]):
            p = self.assertBadInput("rm", *force, "base",
                                    msg="shares its network namespace with joined")
            self.assertIn("remove that container first", p.stderr)
        base = berth_json("inspect", "base")
        self.assertFalse(process_gone(base["pid"]))
        # In order, both go.
        berth("rm", "-f", "joined")
        berth("rm", "-f", "base")
        self.assertTrue(wait_until(lambda: process_gone(base["pid"])))
        self.assertEqual(berth_json("ps", "-a", "--format", "json"), [])


if __name__ == "__main__":
    main()
