"""A real runtime: Debian's podman with its CNI backend and a berth conflist.

Everything podman keeps lives under a temporary directory in the sandbox's private /run
(--root, --runroot, --tmpdir, its containers.conf, the CNI config dir), and /var/lib gets a
private tmpfs first, because libcni caches results in /var/lib/cni and podman keeps a blob
cache in /var/lib/containers: nothing reaches the machine's podman state or filesystem. The
image is a busybox-static rootfs imported offline."""

import json
import os
import shutil
import signal
import subprocess
import time
import unittest

from harness import (ROOT, BerthTest, World, ask, berth_json, host_links, main, nft_elements,
                     run)

CNI_DIR = os.environ.get("BERTH_CNI_DIR",
                         os.path.join(os.path.dirname(__file__), "../../build/cni"))
TMP = "/run/podman-test"
NET = "berthnet"
SUBNET = "10.131.0"
IMAGE = "localhost/berth-busybox:latest"
APPLETS = ["sh", "ping", "sleep", "nc", "cat", "ip", "hostname", "nslookup", "wget", "httpd",
           "ls", "echo", "true"]


def missing_tools():
    return [t for t in ("podman", "runc", "conmon") if not shutil.which(t)] + \
        ([] if os.path.exists("/bin/busybox") else ["busybox-static"])


class PodmanTest(BerthTest):
    @classmethod
    def setUpClass(cls):
        missing = missing_tools()
        if missing:
            raise unittest.SkipTest(f"podman test skipped: {', '.join(missing)} not installed "
                                    "(apt-get install podman runc conmon busybox-static)")
        # Private to this sandbox's mount namespace (tests/sandbox.sh): podman and libcni
        # write below /var/lib, and must not touch the machine's.
        run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/var/lib"])
        shutil.rmtree(TMP, ignore_errors=True)
        for d in ("rootfs/bin", "net.d", "tmp", "root", "runroot"):
            os.makedirs(os.path.join(TMP, d))
        shutil.copy("/bin/busybox", os.path.join(TMP, "rootfs/bin/busybox"))
        for a in APPLETS:
            os.symlink("busybox", os.path.join(TMP, "rootfs/bin", a))
        run(["tar", "-C", os.path.join(TMP, "rootfs"), "-cf", os.path.join(TMP, "rootfs.tar"),
             "."])
        with open(os.path.join(TMP, "containers.conf"), "w") as f:
            f.write(f"""[network]
network_backend = "cni"
cni_plugin_dirs = ["{os.path.abspath(CNI_DIR)}", "/usr/lib/cni"]
network_config_dir = "{TMP}/net.d"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
tmp_dir = "{TMP}/tmp"
""")
        cls.podman(["import", os.path.join(TMP, "rootfs.tar"), IMAGE])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(TMP, ignore_errors=True)

    @staticmethod
    def podman(args, check=True, timeout=120):
        argv = ["podman", "--root", f"{TMP}/root", "--runroot", f"{TMP}/runroot",
                "--tmpdir", f"{TMP}/tmp", "--storage-driver", "vfs", "--cgroup-manager",
                "cgroupfs", "--runtime", "runc", "--events-backend", "file",
                "--network-backend", "cni", "--cni-config-dir", f"{TMP}/net.d", *args]
        env = dict(os.environ, CONTAINERS_CONF=f"{TMP}/containers.conf")
        return run(argv, check=check, timeout=timeout, env=env)

    def setUp(self):
        super().setUp()
        self.write_conflist()

    def tearDown(self):
        self.podman(["rm", "-fa", "-t", "0"], check=False)
        # conmon daemonizes: make sure none of ours outlives the test (by PID, from its files).
        for root, _, files in os.walk(f"{TMP}/runroot"):
            if "conmon.pid" in files:
                try:
                    os.kill(int(open(os.path.join(root, "conmon.pid")).read()), signal.SIGKILL)
                except (ValueError, OSError):
                    pass
        super().tearDown()

    def write_conflist(self, **berth_keys):
        plugin = {"type": "berth", "root": ROOT, "ipam": {"subnet": f"{SUBNET}.0/24"},
                  "capabilities": {"portMappings": True, "aliases": True, "ips": True,
                                   "mac": True, "dns": True}}
        plugin.update(berth_keys)
        with open(f"{TMP}/net.d/{NET}.conflist", "w") as f:
            json.dump({"cniVersion": "1.0.0", "name": NET, "plugins": [plugin]}, f)

    def run_container(self, name, *extra):
        self.podman(["run", "-d", "--name", name, "--network", NET, "--ulimit",
                     "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--cap-add", "NET_RAW",
                     *extra, IMAGE, "sleep", "600"])
        return self.ip_of(name)

    def ip_of(self, name):
        nets = json.loads(self.podman(["inspect", name, "--format",
                                       "{{json .NetworkSettings.Networks}}"]).stdout)
        return nets[NET]["IPAddress"]

    def exec(self, name, *argv, check=True):
        return self.podman(["exec", name, *argv], check=check)

    def test_two_containers_on_a_berth_network_ping_each_other(self):
        ip_a = self.run_container("a")
        ip_b = self.run_container("b", "--network-alias", "bee")
        self.assertEqual({ip_a, ip_b}, {f"{SUBNET}.2", f"{SUBNET}.3"})
        self.assertEqual(self.exec("a", "ping", "-c", "1", "-W", "2", ip_b).returncode, 0)
        self.assertEqual(self.exec("b", "ping", "-c", "1", "-W", "2", ip_a).returncode, 0)
        self.assertEqual(self.exec("a", "ping", "-c", "1", "-W", "2", f"{SUBNET}.1").returncode, 0)
        # berth sees podman's containers as CNI attachments, by podman's names.
        ps = {p["name"]: p for p in berth_json("ps", "--format", "json")}
        self.assertEqual(set(ps), {"a", "b"})
        self.assertTrue(all(p["cni"] and p["mode"] == "cni" for p in ps.values()))
        self.assertEqual(ps["b"]["networks"][NET]["ip"], ip_b)
        self.assertIn("bee", ps["b"]["networks"][NET]["aliases"])
        net = berth_json("network", "inspect", NET)
        self.assertEqual(sorted(c["name"] for c in net["containers"]), ["a", "b"])
        mac = self.exec("a", "cat", "/sys/class/net/eth0/address").stdout.strip()
        self.assertEqual(mac, ps["a"]["networks"][NET]["mac"])

    def test_result_dns_reaches_the_container(self):
        self.write_conflist(dns={"nameservers": ["198.51.100.54"], "search": ["example"]})
        self.run_container("a")
        resolv = self.exec("a", "cat", "/etc/resolv.conf").stdout
        self.assertIn("nameserver 198.51.100.54", resolv)
        self.assertIn("example", resolv)

    def test_containers_resolve_each_other_by_name(self):
        self.run_container("a")
        b = self.run_container("b")
        resolv = self.exec("a", "cat", "/etc/resolv.conf").stdout
        gateway = berth_json("network", "inspect", NET)["gateway"]
        self.assertIn(f"nameserver {gateway}", resolv)
        out = self.exec("a", "nslookup", "b").stdout
        self.assertIn(b, out)
        self.assertEqual(self.exec("b", "ping", "-c", "1", "-W", "2", "a", check=False).returncode,
                         0)

    def test_published_port_answers_from_a_lan_client(self):
        world = World()
        self.addCleanup(world.close)
        self.run_container("web", "-p", "8080:80")
        self.podman(["exec", "-d", "web", "sh", "-c",
                     "while true; do nc -l -p 80 -e echo hello-from-podman; done"])
        self.assertEqual(ask("203.0.113.1", 8080, netns="lan"), "hello-from-podman")
        ps = berth_json("ps", "--format", "json")
        self.assertEqual([(p["host_port"], p["container_port"])
                          for p in ps[0]["networks"][NET]["ports"]], [(8080, 80)])
        self.podman(["rm", "-f", "-t", "0", "web"])
        self.assertIsNone(ask("203.0.113.1", 8080, netns="lan"))

    def test_rm_leaves_nothing_behind(self):
        before_links = host_links()
        self.run_container("a", "-p", "8081:80")
        self.run_container("b")
        veths = {l for l in host_links() if l.startswith("veth")}
        self.assertEqual(len(veths), 2)
        self.assertEqual(len(nft_elements("pub_port_addr")), 1)
        self.podman(["rm", "-f", "-t", "0", "a", "b"])
        self.assertEqual(host_links(), before_links | {berth_json("network", "inspect",
                                                                  NET)["bridge"]},
                         "only the network's bridge stays (like `berth network create`)")
        self.assertEqual(berth_json("ps", "-a", "--format", "json"), [])
        self.assertEqual(berth_json("network", "inspect", NET)["containers"], [])
        for m in ("pub_port_addr", "pub_port_port"):
            self.assertEqual(nft_elements(m), [], f"{m} emptied")
        self.assertEqual(os.listdir("/run/netns") if os.path.isdir("/run/netns") else [], [])
        # And the network is immediately reusable: addresses were released.
        self.assertEqual(self.run_container("c"), f"{SUBNET}.4")


if __name__ == "__main__":
    main()
