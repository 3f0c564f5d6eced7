"""Bridge networks: two containers on one user network talk over the bridge (seed 001), and
inspect tells which host veth is which container's eth0 (seed 000)."""

import json
import os

from harness import (BERTH, ROOT, BerthTest, berth, berth_json, host_links, in_container,
                     ip_json, main, ping, read, run, start_background, wait_until)


class BridgeTest(BerthTest):
    def test_two_containers_ping_and_tcp_by_ip(self):
        berth("network", "create", "web")
        berth("run", "-d", "--name", "a", "--network", "web", "--", "sleep", "300")
        berth("run", "-d", "--name", "b", "--network", "web", "--", "sleep", "300")
        a = berth_json("inspect", "a")["networks"]["web"]
        b = berth_json("inspect", "b")["networks"]["web"]
        self.assertEqual(a["ip"], "172.18.0.2")
        self.assertEqual(b["ip"], "172.18.0.3")
        self.assertTrue(ping("a", b["ip"]))
        self.assertTrue(ping("b", a["ip"]))
        # TCP: a server in b, a client in a.
        start_background([BERTH, "--root", ROOT, "exec", "b", "--", "busybox", "nc", "-l", "-p",
                          "7000", "-e", "echo", "hello-from-b"])
        out = in_container("a", "sh", "-c",
                           f"for i in 1 2 3 4 5; do busybox nc -w 2 {b['ip']} 7000 && break; "
                           "sleep 0.1; done")
        self.assertIn("hello-from-b", out.stdout)

    def test_container_and_host_reach_each_other_through_the_gateway(self):
        berth("network", "create", "web")
        berth("run", "-d", "--name", "a", "--network", "web", "--", "sleep", "300")
        a = berth_json("inspect", "a")["networks"]["web"]
        self.assertEqual(a["gateway"], "172.18.0.1")
        self.assertTrue(ping("a", "172.18.0.1"))
        self.assertEqual(run(["ping", "-c", "1", "-W", "2", a["ip"]], check=False).returncode, 0)
        routes = json.loads(in_container("a", "ip", "-j", "route").stdout)
        default = [r for r in routes if r["dst"] == "default"]
        self.assertEqual(default[0]["gateway"], "172.18.0.1")
        self.assertEqual(default[0]["dev"], "eth0")

    def test_kernel_objects_match_the_design(self):
        berth("network", "create", "web", "--mtu", "1400")
        net = berth_json("network", "inspect", "web")
        berth("run", "-d", "--name", "a", "--network", "web", "--", "sleep", "300")
        c = berth_json("inspect", "a")
        ep = c["networks"]["web"]
        # The bridge: up, the gateway address, the network's MTU.
        br = ip_json("addr", "show", "dev", net["bridge"])[0]
        self.assertIn("UP", br["flags"])
        self.assertEqual(br["mtu"], 1400)
        self.assertIn(("172.18.0.1", 16), [(i["local"], i["prefixlen"]) for i in br["addr_info"]])
        # The host end: a bridge port, up; its peer index is the container's eth0.
        veth = ip_json("-d", "link", "show", "dev", ep["host_veth"])[0]
        self.assertEqual(veth["master"], net["bridge"])
        self.assertIn("UP", veth["flags"])
        self.assertEqual(veth["ifindex"], ep["host_ifindex"])
        self.assertEqual(veth["link_index"], ep["ifindex"])
        # The container end: eth0, MAC from the IP, address, MTU, its peer is the host veth.
        eth0 = json.loads(in_container("a", "ip", "-j", "-d", "addr", "show", "eth0").stdout)[0]
        self.assertEqual(eth0["ifindex"], ep["ifindex"])
        self.assertEqual(eth0["link_index"], ep["host_ifindex"])
        self.assertEqual(eth0["address"], "02:42:ac:12:00:02")
        self.assertEqual(ep["mac"], "02:42:ac:12:00:02")
        self.assertEqual(eth0["mtu"], 1400)
        self.assertIn(("172.18.0.2", 16), [(i["local"], i["prefixlen"]) for i in eth0["addr_info"]])
        lo = json.loads(in_container("a", "ip", "-j", "link", "show", "lo").stdout)[0]
        self.assertIn("UP", lo["flags"])
        self.assertEqual(read("/proc/sys/net/ipv4/ip_forward").strip(), "1")
        # network inspect lists the container with its address and MAC.
        net = berth_json("network", "inspect", "web")
        self.assertEqual([(x["name"], x["ip"], x["mac"]) for x in net["containers"]],
                         [("a", "172.18.0.2", "02:42:ac:12:00:02")])
        # inspect: pid and netns inode agree with /proc.
        self.assertEqual(c["netns"]["inode"], os.stat(f"/proc/{c['pid']}/ns/net").st_ino)
        self.assertNotEqual(c["netns"]["inode"], os.stat("/proc/self/ns/net").st_ino)

    def test_default_bridge_network_created_on_first_use(self):
        self.assertNotIn("berth0", host_links())
        berth("run", "-d", "--name", "a", "--", "sleep", "300")
        c = berth_json("inspect", "a")
        self.assertEqual(c["mode"], "bridge")
        ep = c["networks"]["bridge"]
        self.assertEqual((ep["ip"], ep["prefix_len"], ep["gateway"]), ("172.17.0.2", 16, "172.17.0.1"))
        br = ip_json("addr", "show", "dev", "berth0")[0]
        self.assertIn(("172.17.0.1", 16), [(i["local"], i["prefixlen"]) for i in br["addr_info"]])
        berth("run", "-d", "--name", "b", "--", "sleep", "300")
        self.assertTrue(ping("a", "172.17.0.3"))
        # ... and removed with its last container: nothing is left behind.
        berth("rm", "-f", "a")
        self.assertIn("berth0", host_links())
        berth("rm", "-f", "b")
        self.assertNotIn("berth0", host_links())

    def test_container_files_are_its_own(self):
        berth("network", "create", "web")
        berth("run", "-d", "--name", "a", "--hostname", "alpha", "--network", "web", "--",
              "sleep", "300")
        hosts = in_container("a", "cat", "/etc/hosts").stdout
        self.assertIn("172.18.0.2\talpha a", hosts)
        self.assertIn("127.0.0.1\tlocalhost", hosts)
        self.assertEqual(in_container("a", "hostname").stdout.strip(), "alpha")
        # A user network resolves names: the embedded DNS server on the gateway (issue 4).
        self.assertIn("nameserver 172.18.0.1", in_container("a", "cat", "/etc/resolv.conf").stdout)
        # The host's own files are untouched.
        self.assertNotIn("alpha", read("/etc/hosts"))
        # /sys shows the container's interfaces, not the host's.
        self.assertEqual(sorted(in_container("a", "ls", "/sys/class/net").stdout.split()),
                         ["eth0", "lo"])

    def test_netns_outlives_the_process_for_nsenter(self):
        berth("network", "create", "web")
        berth("run", "-d", "--name", "a", "--network", "web", "--", "true")
        c = berth_json("inspect", "a")
        path = c["netns"]["path"]
        self.assertTrue(path.startswith("/run/berth-test/netns/"))
        self.assertTrue(wait_until(
            lambda: berth_json("ps", "-a", "--format", "json")[0]["exit_code"] is not None))
        # The namespace is still there to enter; its network endpoint was let go of when the
        # process exited (Docker semantics: `berth start` attaches it again).
        self.assertTrue(wait_until(lambda: berth_json("inspect", "a")["networks"] == {}))
        out = run(["nsenter", f"--net={path}", "ip", "-j", "addr", "show"]).stdout
        self.assertEqual([l["ifname"] for l in json.loads(out)], ["lo"])
        ps = berth_json("ps", "-a", "--format", "json")
        self.assertEqual(ps[0]["state"], "exited")
        self.assertEqual(ps[0]["exit_code"], 0)


if __name__ == "__main__":
    main()
