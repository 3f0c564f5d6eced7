"""Address management: which subnet a network gets, which address a container gets, and that
both hold under concurrent berth invocations."""

import concurrent.futures
import json
import subprocess

from harness import (BERTH, ROOT, BerthTest, berth, berth_json, host_links, in_container,
                     ip_json, main, ps, run, state_snapshot)


def subnet_of(name):
    return berth_json("network", "inspect", name)["subnet"]


def ip_of(container, network):
    return berth_json("inspect", container)["networks"][network]["ip"]


def berth_parallel(argvs, timeout=120):
    """Starts every `berth ARGS` at once (a barrier of Popen before any wait); returns
    CompletedProcess-like tuples (returncode, stdout, stderr) in order."""
    procs = [subprocess.Popen([BERTH, "--root", ROOT, *argv], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for argv in argvs]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=timeout)
        out.append((p.returncode, stdout, stderr))
    return out


class SubnetPoolTest(BerthTest):
    def test_pools_in_order(self):
        for i, name in enumerate(("n1", "n2", "n3")):
            berth("network", "create", name)
            net = berth_json("network", "inspect", name)
            self.assertEqual(net["subnet"], f"172.{18 + i}.0.0/16")
            self.assertEqual(net["gateway"], f"172.{18 + i}.0.1")
        # A removed network's subnet is the first free one again.
        berth("network", "rm", "n2")
        berth("network", "create", "n4")
        self.assertEqual(subnet_of("n4"), "172.19.0.0/16")

    def test_subnet_of_a_host_route_is_skipped(self):
        # A route the host already has (here: a link in the sandbox host with an address in
        # 172.18.5.0/24) rules out the pool entry that overlaps it.
        run(["ip", "link", "add", "lan0", "type", "veth", "peer", "name", "lan1"])
        self.addCleanup(run, ["ip", "link", "del", "lan0"], check=False)
        run(["ip", "addr", "add", "172.18.5.1/24", "dev", "lan0"])
        run(["ip", "link", "set", "lan0", "up"])
        run(["ip", "link", "set", "lan1", "up"])
        self.assertIn("172.18.5.0/24", [r["dst"] for r in ip_json("route")])
        berth("network", "create", "web")
        self.assertEqual(subnet_of("web"), "172.19.0.0/16")
        # A route added through another link counts too, wherever it points.
        run(["ip", "route", "add", "172.20.0.0/24", "via", "172.18.5.2"])
        berth("network", "create", "db")
        self.assertEqual(subnet_of("db"), "172.21.0.0/16")
        # An explicit --subnet beside the routes is the user's call; one overlapping a route
        # (connected or via a gateway) would cut the host off that network: --force only.
        berth("network", "create", "mine", "--subnet", "172.18.6.0/24")
        self.assertEqual(subnet_of("mine"), "172.18.6.0/24")
        for subnet, route in (("172.18.5.0/24", "172.18.5.0/24"), ("172.18.4.0/23", "172.18.5.0/24"),
                              ("172.20.0.128/25", "172.20.0.0/24")):
            p = berth("network", "create", "clash", "--subnet", subnet, check=False)
            self.assertNotEqual(p.returncode, 0, subnet)
            self.assertIn(f"overlaps the host's route to {route}", p.stderr)
            self.assertIn("--force", p.stderr)
        berth("network", "create", "clash", "--subnet", "172.18.4.0/23", "--force")
        self.assertEqual(subnet_of("clash"), "172.18.4.0/23")

    def test_after_the_172_pools_come_192_168_slash_20s(self):
        for i in range(14):
            berth("network", "create", f"n{i}")
        self.assertEqual([subnet_of(f"n{i}") for i in range(14)],
                         [f"172.{b}.0.0/16" for b in range(18, 32)])
        berth("network", "create", "next")
        net = berth_json("network", "inspect", "next")
        self.assertEqual((net["subnet"], net["gateway"]), ("192.168.0.0/20", "192.168.0.1"))
        berth("network", "create", "next2")
        self.assertEqual(subnet_of("next2"), "192.168.16.0/20")
        berth("run", "-d", "--name", "a", "--network", "next2", "--", "sleep", "300")
        self.assertEqual(ip_of("a", "next2"), "192.168.16.2")

    def test_pool_exhaustion_is_a_clear_error_and_changes_nothing(self):
        # Cover every pool with two networks given explicitly, then ask for one more.
        berth("network", "create", "big172", "--subnet", "172.18.0.0/15")
        for b in range(20, 32, 4):
            berth("network", "create", f"n{b}", "--subnet", f"172.{b}.0.0/14")
        berth("network", "create", "big192", "--subnet", "192.168.0.0/16")
        self.assertBadInput("network", "create", "onemore",
                            msg=("all predefined address pools have been fully subnetted",
                                 "--subnet"))
        berth("network", "create", "given", "--subnet", "198.18.0.0/24")


class AddressTest(BerthTest):
    def test_subnet_gateway_range_and_static_ip_are_honoured(self):
        berth("network", "create", "web", "--subnet", "172.25.0.0/24", "--gateway",
              "172.25.0.254", "--ip-range", "172.25.0.128/25")
        net = berth_json("network", "inspect", "web")
        self.assertEqual((net["subnet"], net["gateway"], net["ip_range"]),
                         ("172.25.0.0/24", "172.25.0.254", "172.25.0.128/25"))
        br = ip_json("addr", "show", "dev", net["bridge"])[0]
        self.assertEqual([(i["local"], i["prefixlen"]) for i in br["addr_info"]
                          if i["family"] == "inet"], [("172.25.0.254", 24)])
        berth("run", "-d", "--name", "a", "--network", "web", "--", "sleep", "300")
        berth("run", "-d", "--name", "b", "--network", "web", "--", "sleep", "300")
        self.assertEqual([ip_of("a", "web"), ip_of("b", "web")], ["172.25.0.128", "172.25.0.129"])
        a = berth_json("inspect", "a")["networks"]["web"]
        self.assertEqual((a["gateway"], a["prefix_len"]), ("172.25.0.254", 24))
        routes = json.loads(in_container("a", "ip", "-j", "route").stdout)
        self.assertEqual([r.get("gateway") for r in routes if r["dst"] == "default"],
                         ["172.25.0.254"])
        # A static address may lie outside the range, as long as it is in the subnet.
        berth("run", "-d", "--name", "s", "--network", "web", "--ip", "172.25.0.10", "--",
              "sleep", "300")
        self.assertEqual(ip_of("s", "web"), "172.25.0.10")
        eth0 = json.loads(in_container("s", "ip", "-j", "addr", "show", "eth0").stdout)[0]
        self.assertEqual([(i["local"], i["prefixlen"]) for i in eth0["addr_info"]
                          if i["family"] == "inet"], [("172.25.0.10", 24)])
        self.assertEqual(eth0["address"], "02:42:ac:19:00:0a")
        self.assertEqual(in_container("s", "ping", "-c", "1", "-W", "2", "172.25.0.128",
                                      check=False).returncode, 0)
        # Dynamic allocation never hands out a static address.
        berth("network", "create", "small", "--subnet", "172.26.0.0/29")
        berth("run", "-d", "--name", "st", "--network", "small", "--ip", "172.26.0.3", "--",
              "sleep", "300")
        berth("run", "-d", "--name", "d1", "--network", "small", "--", "sleep", "300")
        berth("run", "-d", "--name", "d2", "--network", "small", "--", "sleep", "300")
        self.assertEqual([ip_of("d1", "small"), ip_of("d2", "small")],
                         ["172.26.0.2", "172.26.0.4"])

    def test_released_on_rm_and_exhaustion(self):
        # A /29: .0 network, .1 gateway, .7 broadcast, .2-.6 for containers.
        berth("network", "create", "tiny", "--subnet", "172.27.0.0/29")
        for i in range(5):
            berth("run", "-d", "--name", f"c{i}", "--network", "tiny", "--", "sleep", "300")
        self.assertEqual([ip_of(f"c{i}", "tiny") for i in range(5)],
                         [f"172.27.0.{i}" for i in range(2, 7)])
        for detach in ([], ["-d"]):
            p = self.assertBadInput("run", *detach, "--network", "tiny", "--", "sleep", "300",
                                    msg="no free address left in 172.27.0.0/29 of network tiny")
            self.assertEqual(p.returncode, 125)
        # Released on rm: the next container gets exactly that address.
        berth("rm", "-f", "c2")
        berth("run", "-d", "--name", "again", "--network", "tiny", "--", "sleep", "300")
        self.assertEqual(ip_of("again", "tiny"), "172.27.0.4")
        self.assertBadInput("run", "--network", "tiny", "--", "true", msg="no free address")
        # Released when a --rm container exits.
        berth("rm", "-f", "c0")
        berth("run", "--rm", "--network", "tiny", "--", "true")
        berth("run", "-d", "--name", "last", "--network", "tiny", "--", "sleep", "300")
        self.assertEqual(ip_of("last", "tiny"), "172.27.0.2")

    def test_released_address_is_not_reused_at_once(self):
        # Like Docker and CNI host-local: allocation goes round the range, so an address just
        # given up is handed out again last (stale ARP entries elsewhere point at it).
        berth("network", "create", "web", "--subnet", "172.28.0.0/24")
        berth("run", "-d", "--name", "a", "--network", "web", "--", "sleep", "300")
        berth("run", "-d", "--name", "b", "--network", "web", "--", "sleep", "300")
        berth("rm", "-f", "a")
        berth("run", "-d", "--name", "c", "--network", "web", "--", "sleep", "300")
        self.assertEqual(ip_of("c", "web"), "172.28.0.4")


class ConcurrencyTest(BerthTest):
    def test_parallel_runs_get_distinct_addresses_and_all_run(self):
        berth("network", "create", "web")
        results = berth_parallel([["run", "-d", "--name", f"p{i}", "--network", "web", "--",
                                   "sleep", "300"] for i in range(10)])
        for rc, out, err in results:
            self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(out.strip() for _, out, _ in results),
                         sorted(f"p{i}" for i in range(10)))
        self.assertEqual(ps(), sorted(f"p{i}" for i in range(10)))
        ips = [ip_of(f"p{i}", "web") for i in range(10)]
        self.assertEqual(len(set(ips)), 10)
        self.assertEqual(sorted(ips, key=lambda s: int(s.split(".")[-1])),
                         [f"172.18.0.{i}" for i in range(2, 12)])
        veths = {berth_json("inspect", f"p{i}")["networks"]["web"]["host_veth"] for i in range(10)}
        self.assertEqual(len(veths), 10)
        self.assertTrue(veths <= host_links())
        # All really on the network: each answers a ping from the first.
        for ip in ips[1:]:
            self.assertEqual(in_container("p0", "ping", "-c", "1", "-W", "2", ip,
                                          check=False).returncode, 0, ip)

    def test_parallel_runs_on_a_fresh_root(self):
        # Nothing exists yet: the state database, the default network's bridge and the netns
        # directory are all made by whichever run comes first.
        results = berth_parallel([["run", "-d", "--name", f"p{i}", "--", "sleep", "300"]
                                  for i in range(6)])
        for rc, out, err in results:
            self.assertEqual(rc, 0, err)
        ips = {ip_of(f"p{i}", "bridge") for i in range(6)}
        self.assertEqual(len(ips), 6)

    def test_same_name_in_parallel_exactly_one_wins(self):
        berth("network", "create", "web")
        before = state_snapshot()
        results = berth_parallel([["run", "-d", "--name", "same", "--network", "web", "--",
                                   "sleep", "300"] for _ in range(5)])
        winners = [r for r in results if r[0] == 0]
        losers = [r for r in results if r[0] != 0]
        self.assertEqual(len(winners), 1, results)
        self.assertEqual(winners[0][1], "same\n")
        for rc, out, err in losers:
            self.assertEqual(rc, 125)
            self.assertIn("container name same is already in use", err)
        self.assertEqual(ps(all=True), ["same"])
        # The losers left nothing: exactly one more veth and one netns than before.
        after = state_snapshot()
        self.assertEqual(len(after["links"]), len(before["links"]) + 1)
        self.assertEqual(len(after["netns_files"]), len(before["netns_files"]) + 1)
        self.assertEqual(len(after["files"]), len(before["files"]) + 1)

    def test_parallel_network_create_gets_distinct_subnets(self):
        results = berth_parallel([["network", "create", f"n{i}"] for i in range(6)])
        for rc, out, err in results:
            self.assertEqual(rc, 0, err)
        subnets = [subnet_of(f"n{i}") for i in range(6)]
        self.assertEqual(sorted(subnets), sorted(f"172.{b}.0.0/16" for b in range(18, 24)))
        bridges = {berth_json("network", "inspect", f"n{i}")["bridge"] for i in range(6)}
        self.assertEqual(len(bridges), 6)
        self.assertTrue(bridges <= host_links())

    def test_parallel_network_create_same_name(self):
        results = berth_parallel([["network", "create", "same"] for _ in range(5)])
        self.assertEqual(sorted(r[0] for r in results), [0, 1, 1, 1, 1])
        for rc, out, err in results:
            if rc:
                self.assertIn("network with name same already exists", err)
        self.assertEqual(len([l for l in host_links() if l.startswith("br-")]), 1)


if __name__ == "__main__":
    main()
