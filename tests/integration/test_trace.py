"""`berth trace` (issue 14): nftables tracing shows the rule that drops an icc=false packet and
the DNAT backend of a published port reached from a LAN namespace; nothing with nftrace stays
behind."""

import json
import signal
import subprocess
import time

from harness import (BERTH, ROOT, BerthTest, World, ask, berth, berth_json, main, nft_ruleset,
                     wait_listening, wait_until)

SERVE = "socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo hi'"


class TraceTest(BerthTest):
    def setUp(self):
        super().setUp()
        self.world = World()

    def tearDown(self):
        super().tearDown()
        self.world.close()

    def assertNoTraceLeft(self):
        ruleset = nft_ruleset()
        self.assertNotIn("berth_trace", ruleset)
        self.assertNotIn("nftrace", ruleset)

    def test_icc_drop_and_published_dnat(self):
        berth("network", "create", "quiet", "-o", "icc=false")
        berth("run", "-d", "--name", "a", "--network", "quiet", "--", "sleep", "600")
        berth("run", "-d", "--name", "b", "--network", "quiet", "-p", "8080:80", "--",
              "sh", "-c", SERVE)
        self.assertTrue(wait_listening("b", 80))
        b = berth_json("inspect", "b")["networks"]["quiet"]["ip"]

        out = json.loads(berth("trace", "a", f"{b}:80", "--format", "json").stdout)
        self.assertEqual(out["probe"], "timeout")
        drops = [s for p in out["packets"] for s in p["steps"] if s["verdict"] == "drop"]
        self.assertTrue(drops, out)
        self.assertEqual(drops[0]["chain"], "forward")
        self.assertIn("@icc_off", drops[0]["rule"])
        self.assertIn("icc_off", out["packets"][0]["outcome"])
        self.assertNoTraceLeft()

        out = json.loads(berth("trace", "/run/netns/lan", "203.0.113.1:8080",
                               "--format", "json").stdout)
        self.assertEqual(out["probe"], "connected")
        self.assertEqual(out["packets"][0]["dnat"], f"{b}:80")
        text = berth("trace", "/run/netns/lan", "203.0.113.1:8080").stdout
        self.assertIn(f"DNAT to {b}:80", text)
        self.assertNoTraceLeft()

    def test_route_line_and_the_backend_behind_a_service_vip(self):
        berth("network", "create", "app")
        berth("run", "-d", "--name", "a", "--network", "app", "--", "sleep", "600")
        berth("run", "-d", "--name", "w1", "--network", "app", "--label", "app=web", "--",
              "sh", "-c", SERVE)
        self.assertTrue(wait_listening("w1", 80))
        gw = berth_json("network", "inspect", "app")["gateway"]
        a = berth_json("inspect", "a")["networks"]["app"]["ip"]
        w1 = berth_json("inspect", "w1")["networks"]["app"]["ip"]
        berth("service", "create", "web", "--network", "app", "--selector", "app=web",
              "--port", "80")
        try:
            vip = berth_json("service", "inspect", "web")[0]["vip"]
            for dst in (f"{vip}:80", "web:80"):
                out = json.loads(berth("trace", "a", dst, "--format", "json").stdout)
                self.assertEqual(out["probe"], "connected", out)
                self.assertEqual(out["service"], "web")
                # The route lookup in a's namespace (RTM_GETROUTE): out through its gateway.
                route = out["route"]
                self.assertEqual(route["text"], f"{vip} via {gw} dev eth0 src {a}")
                self.assertEqual((route["gateway"], route["dev"], route["src"]),
                                 (gw, "eth0", a))
                dnats = {p["dnat"]: p["dnat_to"] for p in out["packets"] if p["dnat"]}
                self.assertEqual(dnats.get(f"{w1}:80"), "w1, a backend of service web", out)
            text = berth("trace", "a", f"{vip}:80").stdout
            self.assertIn(f"route: {vip} via {gw} dev eth0 src {a}\n", text)
            self.assertIn(f"DNAT to {w1}:80 (w1, a backend of service web)", text)
            # Between containers of one network: on-link, no gateway.
            out = json.loads(berth("trace", "a", "w1:80", "--format", "json").stdout)
            self.assertEqual(out["route"]["text"], f"{w1} dev eth0 src {a}")
            self.assertIsNone(out["route"]["gateway"])
            self.assertNoTraceLeft()
        finally:
            berth("service", "rm", "web", check=False)

    def test_watch_follows_real_traffic_and_ctrl_c_cleans_up(self):
        berth("network", "create", "app")
        berth("run", "-d", "--name", "b", "--network", "app", "-p", "8080:80", "--",
              "sh", "-c", SERVE)
        self.assertTrue(wait_listening("b", 80))
        b = berth_json("inspect", "b")["networks"]["app"]["ip"]
        watch = subprocess.Popen([BERTH, "--root", ROOT, "trace", "host", "203.0.113.1:8080",
                                  "--watch", "3", "--format", "json"],
                                 stdout=subprocess.PIPE, text=True)
        self.assertTrue(wait_until(lambda: "berth_trace" in nft_ruleset()))
        self.assertEqual(ask("203.0.113.1", 8080, netns="lan"), "hi")
        out = json.loads(watch.communicate(timeout=10)[0])
        self.assertEqual(out["probe"], "")
        self.assertIn(f"{b}:80", [p["dnat"] for p in out["packets"]])
        self.assertNoTraceLeft()
        # Ctrl-C in the middle of a watch still takes the tracing out.
        watch = subprocess.Popen([BERTH, "--root", ROOT, "trace", "host", "203.0.113.1:8080",
                                  "--watch", "60"], stdout=subprocess.PIPE, text=True)
        self.assertTrue(wait_until(lambda: "berth_trace" in nft_ruleset()))
        start = time.monotonic()
        watch.send_signal(signal.SIGINT)
        watch.communicate(timeout=10)
        self.assertLess(time.monotonic() - start, 5)
        self.assertNoTraceLeft()


if __name__ == "__main__":
    main()
