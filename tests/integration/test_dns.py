"""Embedded DNS (issue 4): containers on a user-defined network find each other by name through
berthd, with real clients (glibc getent, dig) inside containers; forwarding to an upstream
dnsmasq in the sandbox's "upstream" namespace; REFUSED for LAN clients; berthd restarts;
the update-latency bounds; and seed 000's monitoring stack end to end."""

import json
import os
import re
import socket
import stat
import subprocess
import tempfile
import time

import dnsq
from harness import (ROOT, BerthTest, berth, berth_json, berthd_pid, in_container, main,
                     netns_exec, read, run, stop_berthd, wait_until, wire_namespace)

BERTHD = os.path.join(os.path.dirname(os.environ.get("BERTH_BIN", "")) or
                      os.path.join(os.path.dirname(__file__), "../../build"), "berthd")
UPSTREAM = "198.51.100.53"  # the sandbox's resolv.conf points here


def dig(container, *args, check=True):
    """dig from inside a container, with short timeouts so failures fail fast."""
    return in_container(container, "dig", "+time=2", "+tries=1", *args, check=check)


def dig_short(container, *args):
    return dig(container, "+short", *args).stdout.split()


def answers(dig_output):
    """Number of A records in the answer section of dig's output."""
    return len(re.findall(r"^\S+\s+\d+\s+IN\s+A\s", dig_output, re.M))


def status_of(dig_output):
    m = re.search(r"status: (\w+)", dig_output)
    return m.group(1) if m else None


def api(method, path):
    """One request to berthd's HTTP API on its unix socket; returns the JSON body of a 200."""
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(os.path.join(ROOT, "berthd.sock"))
        s.sendall(f"{method} {path} HTTP/1.0\r\n\r\n".encode())
        resp = b""
        while chunk := s.recv(65536):
            resp += chunk
    head, body = resp.decode().split("\r\n\r\n", 1)
    assert head.startswith("HTTP/1.0 200"), head
    return json.loads(body)


def sleeper(name, network, *extra):
    berth("run", "-d", "--name", name, "--network", network, *extra, "--", "sleep", "600")


class Upstream:
    """dnsmasq at 198.51.100.53 in an "upstream" namespace: the host's resolver in tests.
    Authoritative for example.test: www -> 198.51.100.80, big -> 40 addresses (larger than
    512 bytes, so UDP answers come back truncated), anything else there NXDOMAIN."""

    def __init__(self):
        wire_namespace("upstream", "198.51.100.1", UPSTREAM)
        self.dir = tempfile.mkdtemp(prefix="upstream-")
        hosts = os.path.join(self.dir, "hosts")
        with open(hosts, "w") as f:
            for i in range(40):
                f.write(f"198.51.100.{100 + i} big.example.test\n")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", "upstream", "dnsmasq", "--keep-in-foreground",
             "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll",
             f"--listen-address={UPSTREAM}", "--bind-interfaces", "--port=53", "--user=root",
             "--pid-file=", "--local=/example.test/", "--address=/www.example.test/198.51.100.80",
             f"--addn-hosts={hosts}", "--log-facility=-"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ok = wait_until(lambda: dnsq.ask(UPSTREAM, "www.example.test", timeout=0.2) is not None, 5)
        assert ok, "upstream dnsmasq did not come up"

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        # The host end first: a veth dies with its namespace only asynchronously.
        run(["ip", "link", "del", "to-upstream"], check=False)
        run(["ip", "netns", "del", "upstream"], check=False)


class DnsTest(BerthTest):
    upstream = None

    def tearDown(self):
        super().tearDown()
        if self.upstream:
            self.upstream.stop()
            self.upstream = None

    def with_upstream(self):
        self.upstream = Upstream()

    def gateway(self, network):
        return berth_json("network", "inspect", network)["gateway"]

    def ip_of(self, container, network):
        return berth_json("inspect", container)["networks"][network]["ip"]

    # --- names, aliases, hostnames, case ------------------------------------------------

    def test_names_aliases_and_hostnames_resolve_with_glibc_and_dig(self):
        berth("network", "create", "mon")
        sleeper("mysql", "mon", "--alias", "db", "-h", "mysql-host")
        sleeper("redis", "mon")
        mysql, redis = self.ip_of("mysql", "mon"), self.ip_of("redis", "mon")
        # resolv.conf points at the gateway; berthd was started on demand.
        conf = in_container("redis", "cat", "/etc/resolv.conf").stdout
        self.assertIn(f"nameserver {self.gateway('mon')}\n", conf)
        self.assertIsNotNone(berthd_pid())
        # glibc, as applications resolve.
        self.assertEqual(in_container("redis", "getent", "hosts", "mysql").stdout.split()[0],
                         mysql)
        self.assertEqual(in_container("mysql", "getent", "hosts", "redis").stdout.split()[0],
                         redis)
        self.assertEqual(in_container("redis", "getent", "ahostsv4", "db").stdout.split()[0],
                         mysql)
        # dig: container name, alias, hostname, any case; authoritative, TTL 0.
        self.assertEqual(dig_short("redis", "mysql"), [mysql])
        self.assertEqual(dig_short("redis", "DB"), [mysql])
        self.assertEqual(dig_short("redis", "MySQL-Host"), [mysql])
        out = dig("redis", "mysql").stdout
        self.assertEqual(status_of(out), "NOERROR")
        self.assertRegex(out, r"flags: qr aa rd ra")
        self.assertRegex(out, r"mysql\.\s+0\s+IN\s+A\s+" + re.escape(mysql))
        # A known name without IPv6: NOERROR with no data, not NXDOMAIN.
        out = dig("redis", "mysql", "AAAA").stdout
        self.assertEqual(status_of(out), "NOERROR")
        self.assertRegex(out, r"ANSWER: 0")

    def test_shared_alias_round_robins(self):
        berth("network", "create", "mon")
        for n in ("w1", "w2", "w3"):
            sleeper(n, "mon", "--alias", "web")
        ips = {self.ip_of(n, "mon") for n in ("w1", "w2", "w3")}
        firsts = set()
        for _ in range(6):
            answer = dig_short("w1", "web")
            self.assertEqual(set(answer), ips)
            firsts.add(answer[0])
        self.assertGreater(len(firsts), 1, "the first address never changed")

    # --- services: A, PTR and SRV ---------------------------------------------------------

    def test_service_names_answer_a_ptr_and_srv(self):
        berth("network", "create", "mon")
        berth("network", "create", "other")
        sleeper("client", "mon")
        sleeper("stranger", "other")
        try:
            berth("service", "create", "web", "--network", "mon", "--selector", "app=web",
                  "--port", "80:8080", "--port", "8081")
            berth("service", "create", "dns", "--network", "mon", "--selector", "app=dns",
                  "--port", "53/udp")
            vip = berth_json("service", "inspect", "web")[0]["vip"]
            dns_vip = berth_json("service", "inspect", "dns")[0]["vip"]
            self.assertEqual(dig_short("client", "web"), [vip])
            self.assertEqual(dig_short("client", "-x", vip), ["web."])
            # SRV by port number and by IANA name (Kubernetes' form): the service port, the
            # service's name as target, its VIP as an additional A record.
            for name in ("_80._tcp.web", "_http._tcp.web", "_80._TCP.WEB"):
                out = dig("client", name, "SRV").stdout
                self.assertEqual(status_of(out), "NOERROR", out)
                self.assertRegex(out, r"flags: qr aa rd ra")
                self.assertRegex(out, re.escape(name) + r"\.\s+0\s+IN\s+SRV\s+0\s+100\s+80\s+web\.",
                                 out)
                self.assertRegex(out, r"ADDITIONAL SECTION:\nweb\.\s+0\s+IN\s+A\s+" +
                                 re.escape(vip), out)
            self.assertEqual(dig_short("client", "_8081._tcp.web", "SRV"),
                             ["0", "100", "8081", "web."])
            self.assertEqual(dig_short("client", "_53._udp.dns", "SRV"),
                             ["0", "100", "53", "dns."])
            self.assertEqual(dig_short("client", "_domain._udp.dns", "SRV"),
                             ["0", "100", "53", "dns."])
            out = dig("client", "_domain._udp.dns", "SRV").stdout
            self.assertRegex(out, r"dns\.\s+0\s+IN\s+A\s+" + re.escape(dns_vip))
            # A port the service does not have, or the wrong protocol: the name exists, so
            # NOERROR with no data, not NXDOMAIN.
            for name in ("_81._tcp.web", "_80._udp.web", "_https._tcp.web"):
                out = dig("client", name, "SRV").stdout
                self.assertEqual(status_of(out), "NOERROR", out)
                self.assertRegex(out, r"ANSWER: 0", out)
            # Scoped like every name: another network's container does not see it (berthd
            # forwards it, and no upstream answers here).
            out = dig("stranger", "_80._tcp.web", "SRV", check=False).stdout
            self.assertNotRegex(out, r"IN\s+SRV\s+\d")
            # Gone with the service.
            berth("service", "rm", "web")
            self.assertTrue(wait_until(lambda: not re.search(
                r"IN\s+SRV\s+\d", dig("client", "_80._tcp.web", "SRV", check=False).stdout), 3))
        finally:
            for svc in ("web", "dns"):
                berth("service", "rm", svc, check=False)

    def test_ptr_for_container_addresses(self):
        berth("network", "create", "mon")
        sleeper("mysql", "mon")
        sleeper("redis", "mon")
        ip = self.ip_of("mysql", "mon")
        self.assertEqual(dig_short("redis", "-x", ip), ["mysql."])
        self.assertEqual(in_container("redis", "getent", "hosts", ip).stdout.split()[1], "mysql")
        # An unused address of the subnet: NXDOMAIN from berthd, never asked upstream.
        unused = ip.rsplit(".", 1)[0] + ".250"
        self.assertEqual(status_of(dig("redis", "-x", unused).stdout), "NXDOMAIN")

    def test_names_are_scoped_to_the_requesters_networks(self):
        self.with_upstream()
        berth("network", "create", "front")
        berth("network", "create", "back")
        sleeper("web", "front")
        sleeper("db", "back")
        sleeper("other", "front")
        # db is on "back" only: from "front" it is just an unknown name, forwarded (and the
        # upstream, which knows nothing of single-label names, refuses it).
        out = dig("web", "db").stdout
        self.assertIn(status_of(out), ("NXDOMAIN", "REFUSED"))
        self.assertEqual(answers(out), 0)
        self.assertEqual(dig_short("other", "web"), [self.ip_of("web", "front")])
        self.assertEqual(dig_short("db", "web"), [])
        # The PTR of a container on another network is not revealed either.
        self.assertNotIn("web.", dig_short("db", "-x", self.ip_of("web", "front")))

    def test_default_bridge_and_dns_false_networks_keep_the_hosts_resolvers(self):
        sleeper("plain", "bridge")
        self.assertIn(f"nameserver {UPSTREAM}", in_container("plain", "cat",
                                                             "/etc/resolv.conf").stdout)
        berth("network", "create", "quiet", "-o", "dns=false")
        sleeper("q1", "quiet")
        sleeper("q2", "quiet")
        self.assertIn(f"nameserver {UPSTREAM}", in_container("q1", "cat",
                                                             "/etc/resolv.conf").stdout)
        self.assertIsNone(berthd_pid(), "berthd started for networks without DNS")

    def test_run_dns_and_dns_search_override(self):
        berth("network", "create", "mon")
        sleeper("c", "mon", "--dns", "198.51.100.7", "--dns-search", "corp.test")
        conf = in_container("c", "cat", "/etc/resolv.conf").stdout
        self.assertIn("nameserver 198.51.100.7\n", conf)
        self.assertNotIn(self.gateway("mon"), conf)
        self.assertIn("search corp.test\n", conf)

    # --- forwarding ----------------------------------------------------------------------

    def test_forwards_other_names_to_the_upstream(self):
        self.with_upstream()
        berth("network", "create", "mon")
        sleeper("c", "mon")
        self.assertEqual(dig_short("c", "www.example.test"), ["198.51.100.80"])
        self.assertEqual(in_container("c", "getent", "hosts", "www.example.test").stdout.split()[0],
                         "198.51.100.80")
        self.assertEqual(status_of(dig("c", "nope.example.test").stdout), "NXDOMAIN")
        # 40 addresses do not fit in 512 bytes: upstream truncates, berthd retries over TCP,
        # then tells the client (no EDNS) to use TCP, and dig follows up over TCP.
        out = dig("c", "+noedns", "big.example.test").stdout
        self.assertEqual(answers(out), 40, out)
        out = dig("c", "+noedns", "+ignore", "big.example.test").stdout
        self.assertRegex(out, r"flags: qr[a-z ]* tc")

    def test_internal_networks_resolve_names_but_forward_nothing(self):
        self.with_upstream()
        berth("network", "create", "--internal", "priv")
        sleeper("a", "priv")
        sleeper("b", "priv")
        self.assertEqual(dig_short("a", "b"), [self.ip_of("b", "priv")])
        # No way out for these containers, so DNS is no way out either.
        self.assertEqual(status_of(dig("a", "www.example.test").stdout), "REFUSED")

    def test_dead_upstream_gives_servfail_not_silence(self):
        berth("network", "create", "mon")
        sleeper("c", "mon")
        start = time.monotonic()
        out = dig("c", "www.example.test", check=False).stdout
        self.assertEqual(status_of(out), "SERVFAIL")
        self.assertLess(time.monotonic() - start, 3)

    # --- who may ask -------------------------------------------------------------------------

    def test_lan_clients_are_refused_the_host_is_answered(self):
        berth("network", "create", "mon")
        sleeper("mysql", "mon")
        gw = self.gateway("mon")
        wire_namespace("lan", "203.0.113.1", "203.0.113.2")
        try:
            out = netns_exec("lan", "dig", "+time=2", "+tries=1", f"@{gw}", "mysql").stdout
            self.assertEqual(status_of(out), "REFUSED")
            out = netns_exec("lan", "dig", "+time=2", "+tries=1", f"@{gw}",
                             "www.example.test").stdout
            self.assertEqual(status_of(out), "REFUSED")  # not an open resolver either
        finally:
            run(["ip", "link", "del", "to-lan"], check=False)
            run(["ip", "netns", "del", "lan"], check=False)
        # The host itself (the sandbox), asking the gateway.
        out = run(["dig", "+time=2", "+tries=1", f"@{gw}", "+short", "mysql"]).stdout.split()
        self.assertEqual(out, [self.ip_of("mysql", "mon")])

    # --- transport and wire format ------------------------------------------------------------

    def test_tcp_queries(self):
        berth("network", "create", "mon")
        sleeper("mysql", "mon")
        sleeper("c", "mon")
        self.assertEqual(dig_short("c", "+tcp", "mysql"), [self.ip_of("mysql", "mon")])
        reply = dnsq.parse(dnsq.tcp(self.gateway("mon"), dnsq.query("mysql")))
        self.assertEqual(dnsq.addresses(reply), [self.ip_of("mysql", "mon")])  # host over TCP

    def test_large_answer_sets_tc_over_udp_and_tcp_carries_it(self):
        berth("network", "create", "mon")
        for i in range(40):
            sleeper(f"r{i}", "mon", "--alias", "big")
        out = dig("r0", "+noedns", "+ignore", "big").stdout
        self.assertRegex(out, r"flags: qr aa [a-z ]*tc")
        self.assertRegex(out, r"ANSWER: 0")
        # dig without +ignore falls back to TCP by itself: all 40.
        self.assertEqual(len(dig_short("r0", "+noedns", "big")), 40)
        # With EDNS0 (dig's default 1232 bytes) they fit in one UDP answer; the OPT is echoed.
        out = dig("r0", "big").stdout
        self.assertEqual(answers(out), 40, out)
        self.assertIn("OPT PSEUDOSECTION", out)
        self.assertRegex(out, r"udp: 1232")

    def test_malformed_packets_get_formerr_or_nothing_and_never_hurt(self):
        berth("network", "create", "mon")
        sleeper("mysql", "mon")
        gw = self.gateway("mon")
        # Two questions: FORMERR, with the ID echoed.
        msg = bytearray(dnsq.query("mysql", qid=0x4242))
        msg[5] = 2
        reply = dnsq.parse(dnsq.udp(gw, bytes(msg)))
        self.assertEqual((reply["id"], reply["rcode"]), (0x4242, 1))
        # A compression loop in the question.
        loop = bytes.fromhex("123401000001000000000000") + b"\xc0\x0c\x00\x01\x00\x01"
        reply = dnsq.udp(gw, loop, timeout=0.5)
        self.assertTrue(reply is None or dnsq.parse(reply)["rcode"] == 1)
        for n in (0, 1, 11, 12, 13, 100, 600, 1500):
            dnsq.udp(gw, dnsq.garbage(n), timeout=0.05)
        self.assertEqual(dnsq.addresses(dnsq.ask(gw, "mysql")), [self.ip_of("mysql", "mon")])

    # --- changes apply fast ---------------------------------------------------------------------

    def test_names_appear_and_vanish_within_100ms(self):
        self.with_upstream()  # so an unknown name gets a prompt NXDOMAIN
        berth("network", "create", "mon")
        sleeper("watcher", "mon")
        gw = self.gateway("mon")
        for i in range(3):
            name = f"new{i}"
            sleeper(name, "mon")
            ip = self.ip_of(name, "mon")
            took = dnsq.time_until(lambda: dnsq.addresses(dnsq.ask(gw, name, timeout=0.1)) == [ip])
            self.assertIsNotNone(took, f"{name} did not resolve")
            self.assertLess(took, 0.1, f"{name} resolved {took * 1000:.1f} ms after run")
            # And from a container, on the first try.
            self.assertEqual(dig_short("watcher", name), [ip])
            berth("rm", "-f", name)
            took = dnsq.time_until(lambda: dnsq.addresses(dnsq.ask(gw, name, timeout=0.1)) == [])
            self.assertIsNotNone(took, f"{name} still resolves")
            self.assertLess(took, 0.1, f"{name} resolved {took * 1000:.1f} ms after rm")
            self.assertEqual(dig_short("watcher", name), [])

    def test_connect_and_disconnect_apply_within_100ms(self):
        self.with_upstream()
        berth("network", "create", "one")
        berth("network", "create", "two")
        sleeper("x", "one")
        sleeper("y", "two")
        gw2 = self.gateway("two")
        for i in range(3):
            # x joins "two" with an alias: y (and the host asking two's gateway) see it at once.
            berth("network", "connect", "--alias", f"xa{i}", "two", "x")
            ip = self.ip_of("x", "two")
            for name in ("x", f"xa{i}"):
                took = dnsq.time_until(
                    lambda: dnsq.addresses(dnsq.ask(gw2, name, timeout=0.1)) == [ip])
                self.assertIsNotNone(took, f"{name} did not resolve after connect")
                self.assertLess(took, 0.1, f"{name}: {took * 1000:.1f} ms after connect")
            self.assertEqual(dig_short("y", f"xa{i}"), [ip])
            # x now sees y too, through either gateway.
            self.assertEqual(dig_short("x", "y"), [self.ip_of("y", "two")])
            berth("network", "disconnect", "two", "x")
            took = dnsq.time_until(lambda: dnsq.addresses(dnsq.ask(gw2, "x", timeout=0.1)) == [])
            self.assertIsNotNone(took, "x still resolves on two after disconnect")
            self.assertLess(took, 0.1, f"x: {took * 1000:.1f} ms after disconnect")
            self.assertEqual(dig_short("y", "x"), [])
            self.assertEqual(dig_short("x", "y"), [])

    def test_auto_removed_containers_vanish(self):
        berth("network", "create", "mon")
        sleeper("watcher", "mon")
        berth("run", "-d", "--rm", "--name", "brief", "--network", "mon", "--", "sleep", "0.3")
        gw = self.gateway("mon")
        self.assertTrue(wait_until(lambda: dnsq.addresses(dnsq.ask(gw, "brief", timeout=0.2)) == [],
                                   5))

    # --- berthd ---------------------------------------------------------------------------------

    def test_berthd_restart_loses_nothing(self):
        berth("network", "create", "mon")
        sleeper("mysql", "mon", "--alias", "db")
        sleeper("redis", "mon")
        gw, ip = self.gateway("mon"), self.ip_of("mysql", "mon")
        stop_berthd()
        self.assertIsNone(berthd_pid())
        start = time.monotonic()
        with open(os.path.join(ROOT, "berthd.log"), "a") as log:
            subprocess.Popen([BERTHD, "--root", ROOT], stdout=log, stderr=log,
                             start_new_session=True)
        took = dnsq.time_until(lambda: dnsq.addresses(dnsq.ask(gw, "db", timeout=0.05)) == [ip],
                               timeout=3)
        self.assertIsNotNone(took)
        self.assertLess(time.monotonic() - start, 1.0)
        self.assertEqual(dig_short("redis", "mysql"), [ip])
        # Stopped again, the next container on the network brings it back by itself.
        stop_berthd()
        sleeper("late", "mon")
        self.assertIsNotNone(berthd_pid())
        self.assertEqual(dig_short("late", "db"), [ip])
        self.assertEqual(dig_short("redis", "late"), [self.ip_of("late", "mon")])

    def test_one_berthd_per_root_api_socket_and_logs(self):
        berth("network", "create", "mon")
        sleeper("mysql", "mon")
        sock = os.path.join(ROOT, "berthd.sock")
        self.assertEqual(stat.S_IMODE(os.stat(sock).st_mode), 0o600)
        # A second berthd for the same root refuses to start.
        p = run([BERTHD, "--root", ROOT], check=False, timeout=10)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("another berthd already serves this state root", p.stderr)
        # The API: HTTP over the unix socket.
        status = api("GET", "/v1/status")
        self.assertEqual(status["dns"]["listening"], [self.gateway("mon")])
        self.assertEqual(status["dns"]["networks"], ["mon"])
        self.assertEqual(status["dns"]["upstreams"], [UPSTREAM])
        # Structured, greppable logs.
        lines = read(os.path.join(ROOT, "berthd.log")).splitlines()
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, r"^time=\S+ level=(debug|info|warn|error) msg=")
        self.assertTrue(any("msg=listening" in l and f"addr={self.gateway('mon')}" in l
                            for l in lines))
        stop_berthd()
        self.assertIn("msg=stopped", read(os.path.join(ROOT, "berthd.log")))
        self.assertFalse(os.path.exists(sock))
        self.assertIsNone(berthd_pid())

    def test_listeners_follow_networks(self):
        berth("network", "create", "one")
        sleeper("a", "one")
        berth("network", "create", "two")  # berthd runs: told at once
        gw2 = self.gateway("two")
        self.assertIn(gw2, api("GET", "/v1/status")["dns"]["listening"])
        berth("network", "rm", "two")
        self.assertNotIn(gw2, api("GET", "/v1/status")["dns"]["listening"])
        # The port is really closed: nothing answers there any more (the address is gone too).
        try:
            self.assertIsNone(dnsq.udp(gw2, dnsq.query("a"), timeout=0.3))
        except OSError:
            pass

    # --- seed 000 -------------------------------------------------------------------------------

    def test_seed000_monitoring_stack_by_name(self):
        berth("network", "create", "nightingale")
        sleeper("mysql", "nightingale")
        sleeper("redis", "nightingale")
        berth("run", "-d", "--name", "victoriametrics", "--network", "nightingale", "--", "sh",
              "-c", "mkdir -p /tmp/vm && echo victoriametrics-ok > /tmp/vm/index.html && "
              "exec busybox httpd -f -p 8428 -h /tmp/vm")
        sleeper("nightingale", "nightingale")
        sleeper("categraf", "nightingale")
        for name in ("mysql", "redis", "victoriametrics", "categraf"):
            self.assertEqual(dig_short("nightingale", name),
                             [self.ip_of(name, "nightingale")], name)
        # An HTTP client resolving through glibc, as Nightingale does (the static busybox wget
        # cannot: glibc's NSS does not work in static binaries).
        fetch = ("import sys, time, urllib.request\n"
                 "for i in range(20):\n"
                 "    try:\n"
                 "        print(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())\n"
                 "        sys.exit(0)\n"
                 "    except OSError as e:\n"
                 "        err = e\n"
                 "        time.sleep(0.1)\n"
                 "sys.exit(str(err))\n")
        out = in_container("nightingale", "/usr/bin/python3", "-c", fetch,
                           "http://victoriametrics:8428/")
        self.assertIn("victoriametrics-ok", out.stdout)
        # busybox's own resolver (nslookup) agrees.
        out = in_container("nightingale", "busybox", "nslookup", "victoriametrics").stdout
        self.assertIn(self.ip_of("victoriametrics", "nightingale"), out)
        # 127.0.0.1 inside nightingale is nightingale's own loopback, not victoriametrics.
        p = in_container("nightingale", "busybox", "wget", "-q", "-T", "2", "-O", "-",
                         "http://127.0.0.1:8428/", check=False)
        self.assertNotEqual(p.returncode, 0)


if __name__ == "__main__":
    main()
