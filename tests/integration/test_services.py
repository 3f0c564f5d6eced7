"""Services (issue 13, one host): a VIP in front of the labelled containers of a network,
kube-proxy nftables style (a verdict map keyed VIP . protocol . port, numgen per service),
backends kept current by berth itself, the name resolving to the VIP."""

import collections
import json
import time

from harness import (BerthTest, World, berth, berth_json, in_container, main, nft_ruleset, run,
                     state_snapshot, wait_listening)

NET = "app"


class ServicesTest(BerthTest):
    def setUp(self):
        super().setUp()
        self.world = World()
        berth("network", "create", NET)

    def tearDown(self):
        for s in json.loads(berth("service", "ls", "--format", "json", check=False).stdout or "[]"):
            berth("service", "rm", s["name"], check=False)
        super().tearDown()
        self.world.close()

    def backend(self, name, label="app=web", port=8080, udp=False):
        proto = "UDP-RECVFROM" if udp else "TCP-LISTEN"
        extra = "" if udp else ",reuseaddr"
        berth("run", "-d", "--name", name, "--network", NET, "--label", label, "--", "sh", "-c",
              f"socat {proto}:{port},fork{extra} SYSTEM:'echo {name}'")
        self.assertTrue(wait_listening(name, port, udp=udp))

    def client(self, name="client"):
        berth("run", "-d", "--name", name, "--network", NET, "--", "sleep", "600")
        return name

    def answers(self, container, ip, port, count):
        """`count` new connections from `container` to ip:port, one exec: who answered each."""
        script = (f"for i in $(seq {count}); do socat -T2 - TCP:{ip}:{port},connect-timeout=1 "
                  f"</dev/null 2>/dev/null || echo FAILED; done")
        out = in_container(container, "sh", "-c", script, timeout=120).stdout.split()
        return collections.Counter(out)

    def create(self, *args):
        return berth_json("service", "create", *args, "--format", "json")

    def test_labels_are_stored_and_shown(self):
        berth("run", "-d", "--name", "l", "--network", NET, "--label", "app=web",
              "--label", "tier=front", "--", "sleep", "600")
        self.assertEqual(berth_json("inspect", "l")["labels"], {"app": "web", "tier": "front"})
        names = berth("ps", "--filter", "label=app=web", "--format", "{{.Name}}").stdout.split()
        self.assertEqual(names, ["l"])

    def test_random_spreads_over_all_backends_and_round_robin_is_even(self):
        for b in ("b1", "b2", "b3"):
            self.backend(b)
        self.client()
        svc = self.create("web", "--network", NET, "--selector", "app=web", "--port", "80:8080")
        self.assertEqual(sorted(b["container"] for b in svc["backends"]), ["b1", "b2", "b3"])
        self.assertTrue(all(b["port"] == 8080 for b in svc["backends"]))
        got = self.answers("client", svc["vip"], 80, 300)
        self.assertEqual(set(got), {"b1", "b2", "b3"}, got)
        for b in ("b1", "b2", "b3"):
            self.assertGreaterEqual(got[b], 60, got)  # >= 20% each
        rr = self.create("rr", "--network", NET, "--selector", "app=web", "--port", "81:8080",
                         "--balance", "round-robin")
        got = self.answers("client", rr["vip"], 81, 300)
        self.assertEqual(got, {"b1": 100, "b2": 100, "b3": 100})

    def test_client_ip_affinity_keeps_a_client_on_one_backend(self):
        for b in ("b1", "b2", "b3"):
            self.backend(b)
        self.client("c1")
        self.client("c2")
        svc = self.create("web", "--network", NET, "--selector", "app=web", "--port", "80:8080",
                          "--affinity", "client-ip")
        self.assertEqual(svc["affinity"], "client-ip:10800")
        got = self.answers("c1", svc["vip"], 80, 50)
        self.assertEqual(len(got), 1, got)  # 50 new connections, one backend
        self.assertIn(list(got)[0], ("b1", "b2", "b3"))
        self.assertEqual(sum(got.values()), 50, got)
        got2 = self.answers("c2", svc["vip"], 80, 50)
        self.assertEqual(len(got2), 1, got2)
        # Round robin picks a client's backend once: the next client gets the next backend.
        rr = self.create("rr", "--network", NET, "--selector", "app=web", "--port", "81:8080",
                         "--balance", "round-robin", "--affinity", "client-ip:60")
        first = self.answers("c1", rr["vip"], 81, 20)
        second = self.answers("c2", rr["vip"], 81, 20)
        self.assertEqual(len(first), 1, first)
        self.assertEqual(len(second), 1, second)
        self.assertNotEqual(set(first), set(second))
        shown = berth_json("service", "inspect", "rr")[0]
        self.assertEqual(shown["affinity"], "client-ip:60")
        self.assertIn("client-ip:60", berth("service", "ls").stdout)
        # The sets hold the clients, with the timeout asked for.
        c1_ip = berth_json("inspect", "c1")["networks"][NET]["ip"].split("/")[0]
        doc = json.loads(run(["nft", "-j", "list", "table", "inet", "berth"]).stdout)["nftables"]
        sets = [o["set"] for o in doc if "set" in o and o["set"]["name"].startswith("aff-")]
        self.assertEqual(len(sets), 6, sets)  # two services, three backends each
        self.assertTrue(all("timeout" in x["flags"] for x in sets), sets)
        self.assertTrue(all(x["size"] == 65535 for x in sets), sets)
        self.assertEqual(sorted({x["timeout"] for x in sets}), [60, 10800])
        held = json.dumps([x.get("elem", []) for x in sets])
        self.assertIn(f'"{c1_ip}"', held)
        explain = berth("service", "inspect", "rr", "--explain").stdout
        self.assertIn("flags dynamic,timeout; timeout 60s;", explain)
        self.assertIn("update @aff-", explain)
        self.assertIn("ip saddr == @aff-", explain)
        # With affinity none the same backends still share the load.
        spread = self.create("spread", "--network", NET, "--selector", "app=web", "--port",
                             "82:8080")
        self.assertEqual(spread["affinity"], "none")
        self.assertEqual(len(self.answers("c1", spread["vip"], 82, 30)), 3)
        for name in ("web", "rr", "spread"):
            berth("service", "rm", name)
        ruleset = nft_ruleset()
        self.assertNotIn("aff-", ruleset)
        self.assertNotIn("svc-", ruleset)

    def test_affinity_follows_a_backend_that_leaves(self):
        for b in ("b1", "b2"):
            self.backend(b)
        self.client()
        svc = self.create("web", "--network", NET, "--selector", "app=web", "--port", "80:8080",
                          "--affinity", "client-ip")
        got = self.answers("client", svc["vip"], 80, 5)
        self.assertEqual(len(got), 1, got)
        mine = list(got)[0]
        berth("stop", "-t", "1", mine)
        other = "b2" if mine == "b1" else "b1"
        self.assertEqual(self.answers("client", svc["vip"], 80, 10), {other: 10})

    def test_flushed_affinity_chain_is_restored(self):
        # The sets stay (made by the element batch), the table is rebuilt around them by
        # libnftables: both must make the same set, or the kernel refuses the rebuild.
        self.backend("b1")
        self.client()
        svc = self.create("web", "--network", NET, "--selector", "app=web", "--port", "80:8080",
                          "--affinity", "client-ip:300")
        doc = json.loads(run(["nft", "-j", "list", "table", "inet", "berth"]).stdout)["nftables"]
        chain = [o["map"] for o in doc if "map" in o and o["map"]["name"] == "service_ips"][0][
            "elem"][0][1]["goto"]["target"]
        run(["nft", "flush", "chain", "inet", "berth", chain])
        berth("run", "-d", "--name", "other", "--network", NET, "--", "sleep", "600")  # repairs
        rules = json.loads(run(["nft", "-j", "list", "chain", "inet", "berth", chain]).stdout)
        self.assertTrue([o for o in rules["nftables"] if "rule" in o], chain)
        self.assertEqual(self.answers("client", svc["vip"], 80, 3), {"b1": 3})
        self.assertIn("nothing to repair", berth("system", "reconcile", "--dry-run").stdout)

    def test_deleted_affinity_set_is_restored(self):
        self.backend("b1")
        self.client()
        svc = self.create("web", "--network", NET, "--selector", "app=web", "--port", "80:8080",
                          "--affinity", "client-ip:300")
        doc = json.loads(run(["nft", "-j", "list", "table", "inet", "berth"]).stdout)["nftables"]
        chain = [o["map"] for o in doc if "map" in o and o["map"]["name"] == "service_ips"][0][
            "elem"][0][1]["goto"]["target"]
        aff = "aff-" + chain[len("svc-"):] + "-0"
        # Nothing may use a set that is deleted: its rules go first, in the same transaction
        # (berthd restores a flushed chain before a second `nft` could delete the set).
        run(["nft", "-f", "-"], input=f"flush chain inet berth {chain}\n"
            f"flush chain inet berth {chain}-0\ndelete set inet berth {aff}\n")
        berth("run", "-d", "--name", "other", "--network", NET, "--", "sleep", "600")  # repairs
        listed = json.loads(run(["nft", "-j", "list", "set", "inet", "berth", aff]).stdout)
        self.assertEqual(listed["nftables"][1]["set"]["timeout"], 300)
        self.assertEqual(self.answers("client", svc["vip"], 80, 3), {"b1": 3})

    def test_bad_affinity_changes_nothing(self):
        before = state_snapshot()
        ruleset = nft_ruleset()
        for bad in ("client-ip:0", "client-ip:abc", "foo", "client-ip:86401", "client-ip:"):
            self.assertFails("service", "create", "bad", "--network", NET, "--selector", "a=b",
                             "--port", "80", "--affinity", bad,
                             msg="invalid --affinity " + bad + ": use none or client-ip[:SECONDS]")
        self.assertUnchanged(before, "bad --affinity")
        self.assertEqual(nft_ruleset(), ruleset)
        # One DNS name space: a service cannot take a container's name.
        berth("run", "-d", "--name", "namesake", "--network", NET, "--", "sleep", "600")
        before, ruleset = state_snapshot(), nft_ruleset()
        self.assertFails("service", "create", "namesake", "--network", NET, "--selector", "a=b",
                         "--port", "80", msg="a container has that name")
        self.assertUnchanged(before, "a container's name")
        self.assertEqual(nft_ruleset(), ruleset)

    def test_stopped_backend_gets_no_new_connection_and_returns_on_start(self):
        for b in ("b1", "b2", "b3"):
            self.backend(b)
        self.client()
        svc = self.create("web", "--network", NET, "--selector", "app=web", "--port", "80:8080",
                          "--balance", "round-robin")
        berth("stop", "-t", "1", "b2")
        got = self.answers("client", svc["vip"], 80, 30)
        self.assertEqual(got, {"b1": 15, "b3": 15})
        backends = berth_json("service", "inspect", "web")[0]["backends"]
        self.assertEqual(sorted(b["container"] for b in backends), ["b1", "b3"])
        berth("start", "b2")
        self.assertTrue(wait_listening("b2", 8080))
        got = self.answers("client", svc["vip"], 80, 30)
        self.assertEqual(got, {"b1": 10, "b2": 10, "b3": 10})
        berth("rm", "-f", "b3")
        got = self.answers("client", svc["vip"], 80, 20)
        self.assertEqual(got, {"b1": 10, "b2": 10})

    def test_no_backends_is_refused_at_once(self):
        self.client()
        svc = self.create("empty", "--network", NET, "--selector", "app=none", "--port", "80")
        script = (f"s=$(date +%s%N); socat -T2 - TCP:{svc['vip']}:80,connect-timeout=2 "
                  f"</dev/null; echo rc=$? ms=$(( ($(date +%s%N) - s) / 1000000 ))")
        p = in_container("client", "sh", "-c", script, check=False)
        self.assertIn("refused", p.stderr)
        ms = int(p.stdout.split("ms=")[1])
        self.assertLess(ms, 500, p.stdout)  # a reset, not a 2 s connect timeout

    def test_name_resolves_to_the_vip_and_back(self):
        self.backend("b1")
        self.client()
        svc = self.create("web", "--network", NET, "--selector", "app=web", "--port", "80:8080")
        self.assertEqual(in_container("client", "getent", "hosts", "web").stdout.split()[0],
                         svc["vip"])
        self.assertIn("web", in_container("client", "getent", "hosts", svc["vip"]).stdout)
        got = self.answers("client", "web", 80, 3)
        self.assertEqual(got, {"b1": 3})

    def test_hairpin_and_from_the_host(self):
        self.backend("b1")
        svc = self.create("web", "--network", NET, "--selector", "app=web", "--port", "80:8080")
        self.assertEqual(self.answers("b1", svc["vip"], 80, 3), {"b1": 3})  # itself, via the VIP
        # From the host: as kube-proxy's ClusterIPs, a VIP is not routed anywhere; the host's
        # default route gets the packet to the output hook, whose DNAT re-routes it.
        run(["ip", "route", "add", "default", "via", "198.51.100.2"])
        p = run(["socat", "-T2", "-", f"TCP:{svc['vip']}:80,connect-timeout=1"], check=False,
                input="")
        self.assertEqual(p.stdout.strip(), "b1", p.stderr)

    def test_udp_service(self):
        self.backend("u1", port=5353, udp=True)
        self.client()
        svc = self.create("dnsish", "--network", NET, "--selector", "app=web", "--port",
                          "53:5353/udp")
        p = in_container("client", "sh", "-c",
                         f"echo hi | socat -T2 - UDP:{svc['vip']}:53", check=False)
        self.assertEqual(p.stdout.strip(), "u1", p.stderr)

    def test_udp_client_moves_on_when_its_backend_leaves(self):
        """A UDP client keeps its source port (as a resolver does): conntrack pins its flow to
        one backend; when that backend stops, berth deletes the flow so the next datagram
        reaches a backend that is there (kube-proxy's stale UDP conntrack bug)."""
        self.backend("u1", port=5353, udp=True)
        self.backend("u2", port=5353, udp=True)
        self.client()
        svc = self.create("dnsish", "--network", NET, "--selector", "app=web", "--port",
                          "53:5353/udp")
        ask = f"echo hi | socat -T1 - UDP:{svc['vip']}:53,sourceport=40000,reuseaddr"
        # Three tries, 1 s apart, as a resolver retries: a datagram lost on a loaded machine
        # (or, after the stop, sent in the instant between the rule update and the flow's
        # deletion) is asked again. Without the deletion every try after the stop would go to
        # the stopped backend: each one keeps the stale flow alive.
        retry = f"for i in 1 2 3; do r=$({ask}); [ -n \"$r\" ] && echo $r && break; done"
        first = in_container("client", "sh", "-c", retry, check=False).stdout.strip()
        self.assertIn(first, ("u1", "u2"))
        self.assertEqual(in_container("client", "sh", "-c", retry).stdout.strip(), first)  # pinned
        berth("stop", "-t", "1", first)
        other = "u2" if first == "u1" else "u1"
        self.assertEqual(in_container("client", "sh", "-c", retry, check=False).stdout.strip(),
                         other)

    def test_publish_answers_from_the_lan_and_the_host(self):
        self.backend("b1")
        berth("run", "-d", "--name", "p", "--network", NET, "-p", "8088:80", "--", "sleep", "600")
        self.create("web", "--network", NET, "--selector", "app=web", "--port", "80:8080",
                    "--publish", "30080:80")
        p = run(["ip", "netns", "exec", "lan", "socat", "-T2", "-",
                 "TCP:203.0.113.1:30080,connect-timeout=1"], check=False, input="")
        self.assertEqual(p.stdout.strip(), "b1", p.stderr)
        p = run(["socat", "-T2", "-", "TCP:198.51.100.1:30080,connect-timeout=1"], check=False,
                input="")
        self.assertEqual(p.stdout.strip(), "b1", p.stderr)
        self.assertFails("service", "create", "again", "--network", NET, "--selector", "a=b",
                         "--port", "80", "--publish", "30080:80", msg="published by service web")
        self.assertFails("service", "create", "again", "--network", NET, "--selector", "a=b",
                         "--port", "80", "--publish", "8088:80", msg="published by container p")
        self.assertFails("service", "create", "again", "--network", NET, "--selector", "a=b",
                         "--port", "80", "--publish", "30081:81", msg="no --port 81")
        berth("service", "rm", "web")
        self.assertNotIn("30080", nft_ruleset())

    def test_rule_shape_and_rm_leaves_nothing(self):
        for b in ("b1", "b2"):
            self.backend(b)
        svc = self.create("web", "--network", NET, "--selector", "app=web", "--port", "80:8080",
                          "--balance", "round-robin")
        doc = json.loads(run(["nft", "-j", "list", "table", "inet", "berth"]).stdout)["nftables"]
        vmap = [o["map"] for o in doc if "map" in o and o["map"]["name"] == "service_ips"][0]
        self.assertEqual(vmap["type"], ["ipv4_addr", "inet_proto", "inet_service"])
        self.assertEqual(vmap["map"], "verdict")
        self.assertEqual(len(vmap["elem"]), 1)
        key, verdict = vmap["elem"][0]
        self.assertEqual(key["concat"], [svc["vip"], "tcp", 80])
        chain = verdict["goto"]["target"]
        rules = [o["rule"] for o in doc if "rule" in o and o["rule"]["chain"] == chain]
        self.assertEqual(len(rules), 1)
        numgen = rules[0]["expr"][0]["vmap"]["key"]["numgen"]
        self.assertEqual((numgen["mode"], numgen["mod"]), ("inc", 2))
        for hook in ("prerouting", "output"):
            self.assertTrue(any("vmap" in e and e["vmap"]["data"] == "@service_ips"
                                for o in doc if "rule" in o and o["rule"]["chain"] == hook
                                for e in o["rule"]["expr"]), hook)
        explain = berth("service", "inspect", "web", "--explain").stdout
        self.assertIn(f"{svc['vip']} . tcp . 80 : goto {chain}", explain)
        self.assertIn("numgen inc mod 2", explain)
        berth("service", "rm", "web")
        ruleset = nft_ruleset()
        self.assertNotIn("svc-", ruleset)
        self.assertNotIn(svc["vip"], ruleset)

    def test_flushed_service_chain_is_restored(self):
        self.backend("b1")
        self.client()
        svc = self.create("web", "--network", NET, "--selector", "app=web", "--port", "80:8080")
        doc = json.loads(run(["nft", "-j", "list", "table", "inet", "berth"]).stdout)["nftables"]
        chain = [o["map"] for o in doc if "map" in o and o["map"]["name"] == "service_ips"][0][
            "elem"][0][1]["goto"]["target"]
        run(["nft", "flush", "chain", "inet", "berth", chain])
        berth("network", "ls")  # any command notices and repairs
        berth("run", "-d", "--name", "other", "--network", NET, "--", "sleep", "600")
        self.assertEqual(self.answers("client", svc["vip"], 80, 2), {"b1": 2})

    def test_bad_input_changes_nothing(self):
        self.backend("b1")
        self.create("web", "--network", NET, "--selector", "app=web", "--port", "80",
                    "--vip", "10.96.0.10")
        cases = [
            (("--network", "nosuch", "--selector", "a=b", "--port", "80"), "nosuch"),
            (("--network", NET, "--selector", "a=b", "--port", "80", "--vip", "10.96.0.10"),
             "used by service web"),
            (("--network", NET, "--selector", "a=b", "--port", "80", "--vip", "10.1.0.1"),
             "outside the service range"),
            (("--network", NET, "--selector", "a=b", "--port", "99999"), "invalid --port"),
            (("--network", NET, "--selector", "a=b", "--port", "80/sctp"), "tcp or udp"),
            (("--network", NET, "--selector", "ab", "--port", "80"), "KEY=VALUE"),
            (("--network", NET, "--selector", "a=b", "--port", "80", "--balance", "x"),
             "round-robin"),
        ]
        before = state_snapshot()
        ruleset = nft_ruleset()
        for args, msg in cases:
            self.assertFails("service", "create", "bad", *args, msg=msg)
        self.assertUnchanged(before, "bad service create")
        self.assertEqual(nft_ruleset(), ruleset)
        self.assertFails("service", "create", "web", "--network", NET, "--selector", "a=b",
                         "--port", "80", msg="already exists")
        self.assertFails("network", "rm", NET, msg="has")

    def test_a_host_port_is_one_services_or_one_containers(self):
        self.backend("b1")
        self.create("web", "--network", NET, "--selector", "app=web", "--port", "80",
                    "--publish", "30080:80")
        before = state_snapshot()
        # A container cannot take the service's host port, fixed or in a range...
        self.assertFails("run", "-d", "--name", "x", "--network", NET, "-p", "30080:80", "--",
                         "sleep", "300", msg="published by service web")
        self.assertFails("run", "-d", "--name", "x", "--network", NET, "-p", "30070-30090:80-100",
                         "--", "sleep", "300", msg="published by service web")
        self.assertUnchanged(before, "run -p on a service's port")
        # ...and an --internal network publishes nothing, as `run -p` there.
        berth("network", "create", "--internal", "sealed")
        self.assertFails("service", "create", "s", "--network", "sealed", "--selector", "a=b",
                         "--port", "80", "--publish", "30081:80", msg="--internal")


if __name__ == "__main__":
    main()
