"""Firewall and NAT (issue 3): egress masquerade, published ports on every path, isolation,
icc=false, --internal, and what berth does to nftables (its own table, element updates only)."""

import json

from harness import (BerthTest, World, ask, berth, berth_json, host_links, in_container, main,
                     nft_elements, nft_rule_count, nft_ruleset, run, serve_peer_echo,
                     state_snapshot, wait_listening)

UP, HOST_UP, LAN, HOST_LAN = "198.51.100.2", "198.51.100.1", "203.0.113.2", "203.0.113.1"


class FirewallTest(BerthTest):
    def setUp(self):
        super().setUp()
        self.world = World()
        serve_peer_echo(netns="up")

    def tearDown(self):
        super().tearDown()
        self.world.close()

    def web(self, name, net, *publish):
        args = ["run", "-d", "--name", name, "--network", net]
        for p in publish:
            args += ["-p", p]
        berth(*args, "--", "sh", "-c",
              "socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo $SOCAT_PEERADDR'")
        self.assertTrue(wait_listening(name, 80))
        return berth_json("inspect", name)["networks"][net]["ip"]

    def test_egress_is_masqueraded_but_not_inside_a_network(self):
        berth("network", "create", "web")
        a = self.web("a", "web")
        b = self.web("b", "web")
        self.assertEqual(ask(UP, 80, container="a"), HOST_UP)
        self.assertEqual(ask(b, 80, container="a"), a)
        self.assertEqual(ask(a, 80, container="b"), b)

    def test_masquerade_false_keeps_the_container_address(self):
        berth("network", "create", "raw", "-o", "masquerade=false")
        a = self.web("a", "raw")
        # Without NAT the upstream needs a route back to the container subnet.
        run(["ip", "-n", "up", "route", "add", "172.18.0.0/16", "via", HOST_UP])
        self.assertEqual(ask(UP, 80, container="a"), a)

    def test_internal_network_reaches_nothing_beyond_its_bridge(self):
        berth("network", "create", "intra", "--internal")
        a = self.web("a", "intra")
        b = self.web("b", "intra")
        routes = json.loads(in_container("a", "ip", "-j", "route").stdout)
        self.assertEqual([r for r in routes if r["dst"] == "default"], [])
        self.assertEqual(ask(b, 80, container="a"), a)
        # Even with a default route added by hand, nothing leaves the bridge.
        in_container("a", "ip", "route", "add", "default", "via", "172.18.0.1")
        self.assertIsNone(ask(UP, 80, container="a"))
        self.assertIsNone(ask(HOST_UP, 22, container="a"))
        self.assertEqual(in_container("a", "ping", "-c1", "-W1", "172.18.0.1", check=False).returncode, 0)
        out = berth("run", "--network", "intra", "-p", "8080:80", "--", "true", check=False)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("internal", out.stderr)

    def test_published_port_answers_on_every_path(self):
        berth("network", "create", "web")
        a = self.web("a", "web", "8080:80")
        self.web("b", "web")
        self.assertEqual(ask(HOST_LAN, 8080, netns="lan"), LAN)        # LAN client, real source
        self.assertIsNotNone(ask("127.0.0.1", 8080))                    # host, loopback
        self.assertEqual(ask(HOST_UP, 8080), HOST_UP)                   # host, its own address
        self.assertIsNotNone(ask(HOST_UP, 8080, container="b"))         # another container
        self.assertIsNotNone(ask(HOST_UP, 8080, container="a"))         # hairpin to itself
        # No userland proxy: nothing listens on 8080 in the host namespace.
        self.assertNotIn(":8080 ", run(["ss", "-Hltn"]).stdout)
        ps = berth_json("ps", "--format", "json")
        ports = {c["name"]: c["networks"]["web"]["ports"] for c in ps}
        self.assertEqual(ports["a"], [{"host_ip": "0.0.0.0", "host_port": 8080,
                                       "container_port": 80, "count": 1, "protocol": "tcp"}])
        self.assertEqual(a, "172.18.0.2")

    def test_udp_port(self):
        berth("network", "create", "web")
        berth("run", "-d", "--name", "u", "--network", "web", "-p", "5353:53/udp", "--", "sh", "-c",
              "socat UDP-RECVFROM:53,fork SYSTEM:'echo $SOCAT_PEERADDR'")
        self.assertTrue(wait_listening("u", 53, udp=True))
        self.assertEqual(ask(HOST_LAN, 5353, netns="lan", proto="UDP"), LAN)

    def test_host_ip_binding_answers_only_there(self):
        berth("network", "create", "web")
        self.web("a", "web", "127.0.0.1:8081:80")
        self.assertIsNotNone(ask("127.0.0.1", 8081))
        self.assertIsNone(ask(HOST_LAN, 8081, netns="lan"))
        self.assertIsNone(ask(HOST_UP, 8081))

    def test_ranges_and_automatic_ports(self):
        berth("network", "create", "web")
        berth("run", "-d", "--name", "r", "--network", "web", "-p", "9000-9002:80-82", "-p", "81",
              "--", "sh", "-c",
              "for p in 80 81 82; do socat TCP-LISTEN:$p,fork,reuseaddr SYSTEM:\"echo port-$p\" & "
              "done; wait")
        for port in (80, 81, 82):
            self.assertTrue(wait_listening("r", port))
        self.assertEqual(ask(HOST_LAN, 9001, netns="lan"), "port-81")
        self.assertEqual(ask(HOST_LAN, 9002, netns="lan"), "port-82")
        auto = [p for p in berth_json("inspect", "r")["networks"]["web"]["ports"]
                if p["container_port"] == 81 and p["count"] == 1][0]
        self.assertGreaterEqual(auto["host_port"], 32768)
        self.assertIn(f"0.0.0.0:{auto['host_port']}->81/tcp", berth("ps").stdout)
        self.assertEqual(ask(HOST_LAN, auto["host_port"], netns="lan"), "port-81")

    def test_a_thousand_port_range_is_one_element(self):
        berth("network", "create", "web")
        rules = None
        berth("run", "-d", "--name", "a", "--network", "web", "-p", "8080:80", "--", "sleep", "300")
        rules = nft_rule_count()
        berth("run", "-d", "--name", "r", "--network", "web", "-p", "20000-20999:20000-20999",
              "--", "sh", "-c", "socat TCP-LISTEN:20500,fork SYSTEM:'echo range-ok'")
        self.assertTrue(wait_listening("r", 20500))
        self.assertEqual(nft_rule_count(), rules)  # no rule per port, no rule per container
        self.assertEqual(len(nft_elements("pub_range")), 1)
        self.assertEqual(ask(HOST_LAN, 20500, netns="lan"), "range-ok")

    def test_hundreds_of_ports_in_one_command(self):
        # More elements than one prebuilt element batch holds: they still land, and go.
        berth("network", "create", "web")
        ports = [a for i in range(300) for a in ("-p", f"{10000 + i}:80")]
        berth("run", "-d", "--name", "many", "--network", "web", *ports, "--", "sleep", "300")
        self.assertEqual(len(nft_elements("pub_port_addr")), 300)
        self.assertEqual(len(nft_elements("pub_port_port")), 300)
        berth("rm", "-f", "many")
        self.assertEqual(nft_elements("pub_port_addr"), [])

    def test_conflicting_port_names_the_holder_and_changes_nothing(self):
        berth("network", "create", "web")
        self.web("first", "web", "8080:80")
        before = state_snapshot()
        for spec in ("8080:81", "127.0.0.1:8080:80", "8079-8081:8079-8081"):
            out = berth("run", "-d", "--network", "web", "-p", spec, "--", "sleep", "300",
                        check=False)
            self.assertEqual(out.returncode, 125, spec)
            self.assertIn("already published by container first", out.stderr)
            self.assertUnchanged(before, spec)
        # Another protocol or another address is fine.
        berth("run", "-d", "--name", "udp", "--network", "web", "-p", "8080:80/udp", "--", "sleep",
              "300")

    def test_bad_port_specs_change_nothing(self):
        berth("network", "create", "web")
        self.web("first", "web", "7000-7010:7000-7010")
        before = state_snapshot()
        for spec, why in (("0", "outside 1-65535"), ("65536", "outside 1-65535"),
                          ("abc", "not a port number"), ("8000-8002:80", "same length"),
                          ("7005-7006:80-81", "already published")):
            out = berth("run", "-d", "--network", "web", "-p", spec, "--", "sleep", "300",
                        check=False)
            self.assertNotEqual(out.returncode, 0, spec)
            self.assertIn(why, out.stderr, spec)
            self.assertUnchanged(before, spec)

    def test_failed_start_leaves_the_firewall_as_it_was(self):
        berth("network", "create", "web")
        self.web("first", "web", "8080:80")
        before = state_snapshot()
        out = berth("run", "--network", "web", "-p", "9090:80", "--", "no-such-command",
                    check=False)
        self.assertEqual(out.returncode, 127)
        self.assertUnchanged(before, "failed start")

    def test_host_mode_discards_published_ports_with_dockers_warning(self):
        out = berth("run", "--network", "host", "-p", "8080:80", "--", "true")
        self.assertIn("WARNING: Published ports are discarded when using host network mode",
                      out.stderr)
        out = berth("run", "-d", "--name", "h", "--network", "host", "-p", "8080:80", "--",
                    "sleep", "300", check=False)
        self.assertEqual(out.returncode, 0)
        self.assertEqual(berth_json("inspect", "h")["networks"], {})

    def test_networks_are_isolated_from_each_other(self):
        berth("network", "create", "one")
        berth("network", "create", "two")
        a = self.web("a", "one")
        b = self.web("b", "two")
        self.assertIsNone(ask(b, 80, container="a"))
        self.assertIsNone(ask(a, 80, container="b"))
        self.assertEqual(ask(UP, 80, container="a"), HOST_UP)
        self.assertEqual(ask(UP, 80, container="b"), HOST_UP)

    def test_icc_false_blocks_containers_but_not_published_ports(self):
        berth("network", "create", "quiet", "-o", "icc=false")
        a = self.web("a", "quiet", "8080:80")
        self.web("b", "quiet")
        self.assertIsNone(ask(a, 80, container="b"))
        self.assertIsNotNone(ask(HOST_UP, 8080, container="b"))
        self.assertEqual(ask(HOST_LAN, 8080, netns="lan"), LAN)
        self.assertEqual(ask(UP, 80, container="a"), HOST_UP)

    def test_connect_and_disconnect_on_the_fly(self):
        berth("network", "create", "one")
        berth("network", "create", "two")
        self.web("a", "one")
        b = self.web("b", "two")
        self.assertIsNone(ask(b, 80, container="a"))
        berth("network", "connect", "two", "a", "--ip", "172.19.0.50")
        eth1 = json.loads(in_container("a", "ip", "-j", "addr", "show", "eth1").stdout)[0]
        self.assertEqual(eth1["addr_info"][0]["local"], "172.19.0.50")
        self.assertEqual(berth_json("inspect", "a")["networks"]["two"]["interface"], "eth1")
        self.assertEqual(ask(b, 80, container="a"), "172.19.0.50")
        self.assertIn("172.19.0.50", in_container("a", "cat", "/etc/hosts").stdout)
        self.assertEqual(ask(UP, 80, container="a"), HOST_UP)  # still the default route on one
        berth("network", "disconnect", "two", "a")
        self.assertNotIn("eth1", in_container("a", "ip", "-o", "link").stdout)
        self.assertIsNone(ask(b, 80, container="a"))
        self.assertEqual(ask(UP, 80, container="a"), HOST_UP)
        # Disconnecting the default-route network moves the default route to the next one.
        berth("network", "connect", "two", "a")
        berth("network", "disconnect", "one", "a")
        self.assertEqual(ask(UP, 80, container="a"), HOST_UP)
        out = berth("network", "disconnect", "one", "a", check=False)
        self.assertIn("is not connected to network one", out.stderr)

    def test_foreign_rules_are_untouched(self):
        run(["nft", "add", "table", "inet", "foreign"])
        run(["nft", "add", "chain", "inet", "foreign", "fwdchain",
             "{ type filter hook forward priority 10; policy accept; }"])
        run(["nft", "add", "rule", "inet", "foreign", "fwdchain", "tcp", "dport", "12345", "counter",
             "accept"])
        run(["iptables-nft", "-A", "FORWARD", "-p", "tcp", "--dport", "23456", "-j", "ACCEPT"])
        foreign = run(["nft", "list", "table", "inet", "foreign"]).stdout
        legacy = run(["nft", "list", "table", "ip", "filter"]).stdout
        berth("network", "create", "web", "-o", "icc=false")
        self.web("a", "web", "8080:80")
        berth("network", "create", "other")
        self.web("b", "other")
        berth("network", "connect", "web", "b")
        berth("rm", "-f", "a", "b")
        berth("network", "rm", "web", "other")
        self.assertEqual(run(["nft", "list", "table", "inet", "foreign"]).stdout, foreign)
        self.assertEqual(run(["nft", "list", "table", "ip", "filter"]).stdout, legacy)

    def test_user_chain_comes_first_and_is_never_modified(self):
        berth("network", "create", "web")
        self.web("a", "web", "8080:80")
        self.assertEqual(ask(UP, 80, container="a"), HOST_UP)
        run(["nft", "add", "rule", "inet", "berth", "user", "ip", "daddr", UP, "drop"])
        user = run(["nft", "list", "chain", "inet", "berth", "user"]).stdout
        self.assertIsNone(ask(UP, 80, container="a"))
        self.web("b", "web", "8081:80")
        berth("rm", "-f", "b")
        berth("network", "create", "more")
        berth("network", "rm", "more")
        # Even a full rebuild (after someone deleted berth's maps) leaves the user chain alone.
        run(["nft", "flush", "chain", "inet", "berth", "published"])
        run(["nft", "delete", "map", "inet", "berth", "pub_port_addr"])
        self.web("c", "web", "8082:80")
        self.assertEqual(run(["nft", "list", "chain", "inet", "berth", "user"]).stdout, user)
        self.assertIsNone(ask(UP, 80, container="a"))
        self.assertEqual(ask(HOST_LAN, 8080, netns="lan"), LAN)  # a's port came back

    def test_table_deleted_behind_berths_back_is_rebuilt(self):
        berth("network", "create", "web")
        self.web("a", "web", "8080:80")
        run(["nft", "delete", "table", "inet", "berth"])
        self.web("b", "web", "8081:80")
        self.assertEqual(ask(HOST_LAN, 8080, netns="lan"), LAN)
        self.assertEqual(ask(HOST_LAN, 8081, netns="lan"), LAN)
        self.assertEqual(ask(UP, 80, container="a"), HOST_UP)

    def test_hostile_names_never_reach_nftables(self):
        berth("network", "create", "web")
        before = nft_ruleset()
        for name in ("x; flush ruleset", 'x" }; flush ruleset; {"', "$(nft flush ruleset)"):
            out = berth("network", "create", name, check=False)
            self.assertNotEqual(out.returncode, 0)
            self.assertIn("invalid network name", out.stderr)
        out = berth("network", "create", "n2", "-o", "bridge_name=x;flush", check=False)
        self.assertNotEqual(out.returncode, 0)
        self.assertEqual(nft_ruleset(), before)

    def test_removing_everything_leaves_no_elements(self):
        berth("network", "create", "web", "-o", "icc=false")
        berth("network", "create", "intra", "--internal")
        self.web("a", "web", "8080:80", "9000-9009:9000-9009", "127.0.0.1:7000-7001:80-81")
        self.web("b", "intra")
        berth("run", "-d", "--name", "c", "--", "sleep", "300")
        berth("rm", "-f", "a", "b", "c")
        berth("network", "rm", "web", "intra")
        for s in ("pub_port_addr", "pub_port_port", "pub_range", "pub_addr_port_addr",
                  "pub_addr_port_port", "pub_addr_range", "icc_off", "internal"):
            self.assertEqual(nft_elements(s), [], s)
        for s in ("bridges", "same_bridge", "subnets", "masq_subnets"):
            self.assertEqual(nft_elements(s), [], s)
        self.assertEqual(sorted(host_links()), ["lo", "to-lan", "to-up"])


if __name__ == "__main__":
    main()
