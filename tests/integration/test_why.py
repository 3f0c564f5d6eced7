"""`berth why` (issue 14): each cause code produced by a real broken setup and detected, from a
probe in SRC's namespace and berth's model; `why` changes nothing and answers within 1 s."""

import json
import time

from harness import (BerthTest, berth, berth_json, main, nft_ruleset, run, state_snapshot,
                     stop_berthd, wait_listening)

SERVE = "socat TCP-LISTEN:{port},{bind}fork,reuseaddr SYSTEM:'echo hi'"


def web(name, network, port=80, bind="", publish=()):
    args = ["run", "-d", "--name", name, "--network", network]
    for p in publish:
        args += ["-p", p]
    berth(*args, "--", "sh", "-c",
          SERVE.format(port=port, bind=f"bind={bind}," if bind else ""))
    assert wait_listening(name, port)


def sleeper(name, network):
    berth("run", "-d", "--name", name, "--network", network, "--", "sleep", "600")


def ip_of(name, network):
    return berth_json("inspect", name)["networks"][network]["ip"]


class WhyTest(BerthTest):
    def tearDown(self):
        # Services first: a network with a service is not pruned.
        for s in json.loads(berth("service", "ls", "--format", "json", check=False).stdout or "[]"):
            berth("service", "rm", s["name"], check=False)
        super().tearDown()

    def why(self, src, dst, expect_rc=None):
        start = time.monotonic()
        p = berth("why", src, dst, "--format", "json", check=False)
        elapsed = time.monotonic() - start
        self.assertLess(elapsed, 1.0, f"why {src} {dst} took {elapsed:.2f}s")
        self.assertIn(p.returncode, (0, 1), p.stderr)
        answer = json.loads(p.stdout)
        self.assertEqual(set(answer) >= {"reachable", "cause", "explanation", "fix"}, True)
        self.assertEqual(answer["reachable"], p.returncode == 0)
        return answer

    def assertCause(self, src, dst, cause):
        a = self.why(src, dst)
        self.assertEqual(a["cause"], cause, a)
        self.assertEqual(a["reachable"], cause == "ok", a)
        return a

    def test_ok_between_containers_and_text_output(self):
        berth("network", "create", "app")
        sleeper("a", "app")
        web("b", "app")
        self.assertCause("a", "b:80", "ok")
        self.assertCause("a", ip_of("b", "app") + ":80", "ok")
        self.assertCause("a", "b", "ok")  # no port: an ICMP echo
        out = berth("why", "a", "b:80").stdout.splitlines()
        self.assertEqual(out[0], "reachable")
        self.assertEqual(out[1], "cause: ok")

    def test_loopback_names_the_right_target(self):
        berth("network", "create", "mon")
        sleeper("grafana", "mon")
        web("prometheus", "mon", port=9090)
        a = self.assertCause("grafana", "localhost:9090", "loopback")
        self.assertIn("prometheus", a["explanation"])
        self.assertCause("grafana", "127.0.0.1:9090", "loopback")
        text = berth("why", "grafana", "127.0.0.1:9090", check=False)
        self.assertEqual(text.returncode, 1)
        self.assertEqual(text.stdout.splitlines()[:2], ["unreachable", "cause: loopback"])

    def test_container_stopped(self):
        berth("network", "create", "app")
        sleeper("a", "app")
        web("b", "app")
        b = ip_of("b", "app")
        berth("stop", "-t", "1", "b")
        a = self.assertCause("a", "b:80", "container-stopped")
        self.assertEqual(a["fix"], "berth start b")
        self.assertCause("a", f"{b}:80", "container-stopped")  # by its last address too

    def test_name_not_resolvable(self):
        sleeper("a", "bridge")
        web("b", "bridge")
        a = self.assertCause("a", "b:80", "name-not-resolvable")
        self.assertIn("default network", a["explanation"])
        berth("network", "create", "other")
        web("c", "other")
        a = self.assertCause("a", "c:80", "name-not-resolvable")
        self.assertEqual(a["fix"], "berth network connect other a")
        self.assertCause("a", "nosuchname:80", "name-not-resolvable")

    def test_name_not_resolvable_while_berthd_is_down(self):
        berth("network", "create", "app")
        sleeper("a", "app")
        web("b", "app")
        self.assertCause("a", "b:80", "ok")
        stop_berthd()
        a = self.assertCause("a", "b:80", "name-not-resolvable")
        self.assertIn("berthd", a["explanation"])

    def test_no_shared_network(self):
        berth("network", "create", "one")
        berth("network", "create", "two")
        sleeper("a", "one")
        web("b", "two")
        a = self.assertCause("a", ip_of("b", "two") + ":80", "no-shared-network")
        self.assertEqual(a["fix"], "berth network connect two a")
        berth("network", "connect", "two", "a")
        self.assertCause("a", ip_of("b", "two") + ":80", "ok")

    def test_internal_network(self):
        berth("network", "create", "intra", "--internal")
        sleeper("a", "intra")
        self.assertCause("a", "198.51.100.2:80", "internal-network")

    def test_icc_disabled(self):
        berth("network", "create", "quiet", "-o", "icc=false")
        sleeper("a", "quiet")
        web("b", "quiet")
        self.assertCause("a", ip_of("b", "quiet") + ":80", "icc-disabled")

    def test_not_published(self):
        berth("network", "create", "app")
        web("w", "app")
        a = self.assertCause("host", "w:80", "not-published")
        self.assertIn("-p 80:80", a["fix"])
        a = self.assertCause("host", "127.0.0.1:80", "not-published")
        self.assertIn("w", a["explanation"])
        # Published, the same question is answered yes, on every host path.
        web("p", "app", publish=["8080:80"])
        self.assertCause("host", "p:80", "ok")
        self.assertCause("host", "localhost:8080", "ok")
        # The host still reaches a container's own address directly.
        self.assertCause("host", ip_of("w", "app") + ":80", "ok")

    def test_listening_on_loopback(self):
        berth("network", "create", "app")
        sleeper("a", "app")
        web("b", "app", bind="127.0.0.1")
        self.assertCause("a", "b:80", "listening-on-loopback")
        berth("run", "-d", "--name", "c", "--network", "app", "-p", "8081:80", "--", "sh", "-c",
              SERVE.format(port=80, bind="bind=127.0.0.1,"))
        self.assertTrue(wait_listening("c", 80))  # its server starts in the background
        self.assertCause("host", "c:80", "listening-on-loopback")

    def test_no_listener_says_what_listens(self):
        berth("network", "create", "app")
        sleeper("a", "app")
        web("b", "app", port=8080)
        a = self.assertCause("a", "b:80", "no-listener")
        self.assertIn("8080", a["explanation"])
        berth("run", "-d", "--name", "u", "--network", "app", "--", "sh", "-c",
              "socat UDP-LISTEN:5353,fork SYSTEM:'echo hi'")
        self.assertTrue(wait_listening("u", 5353, udp=True))
        self.assertCause("a", "u:53/udp", "no-listener")
        self.assertCause("a", "u:5353/udp", "ok")

    def test_user_rule(self):
        berth("network", "create", "app")
        sleeper("a", "app")
        web("b", "app")
        b = ip_of("b", "app")
        run(["nft", "add", "rule", "inet", "berth", "user", "ip", "daddr", b, "tcp", "dport",
             "80", "drop"])
        try:
            a = self.assertCause("a", "b:80", "user-rule")
            self.assertIn(f"ip daddr {b} tcp dport 80 drop", a["explanation"])
            self.assertIn("nft delete rule inet berth user handle", a["fix"])
        finally:
            run(["nft", "flush", "chain", "inet", "berth", "user"])
        self.assertCause("a", "b:80", "ok")

    def test_unknown_says_what_was_checked(self):
        berth("network", "create", "app")
        sleeper("a", "app")
        a = self.assertCause("a", "198.51.100.99:80", "unknown")
        self.assertIn("Checked:", a["explanation"])
        self.assertIn("user chain", a["explanation"])

    def test_service_no_backends_then_ok(self):
        berth("network", "create", "app")
        sleeper("a", "app")
        berth("service", "create", "web", "--network", "app", "--selector", "app=web",
              "--port", "80:8080")
        vip = berth_json("service", "inspect", "web")[0]["vip"]
        # By name (as a resolves it, and from the host) and by VIP.
        a = self.assertCause("a", "web:80", "service-no-backends")
        self.assertIn("app=web", a["explanation"])
        self.assertIn("no running container on app", a["explanation"])
        self.assertEqual(a["fix"], "berth run -d --network app --label app=web ...")
        self.assertCause("a", f"{vip}:80", "service-no-backends")
        self.assertCause("host", "web:80", "service-no-backends")
        # A port the service does not have.
        a = self.assertCause("a", "web:81", "no-listener")
        self.assertIn("80/tcp", a["explanation"])
        # A backend: reachable, and the answer names it.
        berth("run", "-d", "--name", "w1", "--network", "app", "--label", "app=web", "--",
              "sh", "-c", SERVE.format(port=8080, bind=""))
        self.assertTrue(wait_listening("w1", 8080))
        a = self.assertCause("a", "web:80", "ok")
        self.assertIn("w1", a["explanation"])
        self.assertCause("a", f"{vip}:80", "ok")
        # (The sandbox's host has no route covering the VIP, as README's services section
        # says a host needs, so host -> web:80 is not asked here.)
        # Its only backend stopped: the fix is to start it again.
        berth("stop", "-t", "1", "w1")
        a = self.assertCause("a", "web:80", "service-no-backends")
        self.assertEqual(a["fix"], "berth start w1")

    def test_service_backend_without_listener(self):
        berth("network", "create", "app")
        sleeper("a", "app")
        berth("service", "create", "web", "--network", "app", "--selector", "app=web",
              "--port", "80:8080")
        # Its backend serves 9000, not the service's target port 8080.
        berth("run", "-d", "--name", "w1", "--network", "app", "--label", "app=web", "--",
              "sh", "-c", SERVE.format(port=9000, bind=""))
        self.assertTrue(wait_listening("w1", 9000))
        a = self.assertCause("a", "web:80", "no-listener")
        self.assertIn("w1", a["explanation"])
        self.assertIn("9000", a["explanation"])

    def test_answers_within_the_bound_with_many_containers(self):
        """Issue 14: within 1 s whatever the cause; the listener scans of 30 containers and a
        probe that times out share one deadline. The bound asserted here is generous (a loaded
        CI machine); the code's own deadline is 1 s."""
        berth("network", "create", "app")
        berth("network", "create", "quiet", "-o", "icc=false")
        for i in range(30):
            sleeper(f"s{i}", "app")
        sleeper("a", "app")
        web("b", "app", port=8080)
        web("q", "quiet")
        sleeper("qa", "quiet")
        cases = [("a", "b:80", "no-listener"),          # b listens elsewhere
                 ("a", "localhost:8080", "loopback"),   # scans every container for 8080
                 ("host", "127.0.0.1:8080", "not-published"),  # scans them all from the host
                 ("qa", ip_of("q", "quiet") + ":80", "icc-disabled")]  # a probe that times out
        for src, dst, cause in cases:
            start = time.monotonic()
            p = berth("why", src, dst, "--format", "json", check=False)
            elapsed = time.monotonic() - start
            self.assertEqual(json.loads(p.stdout)["cause"], cause, p.stdout)
            self.assertLess(elapsed, 3.0, f"why {src} {dst} took {elapsed:.2f}s")

    def test_why_changes_nothing(self):
        berth("network", "create", "app")
        berth("network", "create", "quiet", "-o", "icc=false")
        sleeper("a", "app")
        web("b", "app")
        web("q", "quiet")
        before = state_snapshot()
        ruleset = nft_ruleset()
        for src, dst in [("a", "b:80"), ("a", "localhost:80"), ("a", "q:80"),
                         ("host", "b:80"), ("a", "b:81"), ("a", "198.51.100.2:80")]:
            self.why(src, dst)
        self.assertUnchanged(before, "berth why")
        self.assertEqual(nft_ruleset(), ruleset)

    def test_bad_input(self):
        self.assertFails("why", "nosuch", "b:80", msg="nosuch")
        self.assertFails("why", "host", "b:99999", msg="bad port")


if __name__ == "__main__":
    main()
