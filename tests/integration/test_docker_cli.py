"""The CLI a Docker user expects (issue 15): lifecycle verbs, run/exec flags, interactive
shells on a real pseudo-terminal, private PID and IPC namespaces, the restart policy, shell
completion and manual pages; each as a user sees it."""

import datetime
import json
import os
import shlex
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import (BERTH, ROOT, BerthTest, berth, berth_json, berthd_pid, in_container,
                     ip_json, main, read, run, wait_until)


def names(*args):
    return berth("ps", *args).stdout.split("\n", 1)[1].split()


def interactive(argv, keys, timeout=20):
    """Runs `argv` under script(1), on a pseudo-terminal as a user's shell would, typing
    `keys` (a list of (delay seconds, text)); returns (exit status, what the terminal showed)."""
    feeder = "; ".join(f"sleep {d}; printf %s {shlex.quote(t)}" for d, t in keys)
    cmd = shlex.join(argv)
    p = subprocess.run(["bash", "-c", f"({feeder}; sleep 1) | script -qfec {shlex.quote(cmd)} /dev/null"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout.replace("\r", "")


class LifecycleTest(BerthTest):
    def test_stop_then_start_keeps_address_name_and_ports(self):
        berth("network", "create", "web")
        berth("run", "-d", "--name", "w", "--network", "web", "--ip", "172.18.0.50",
              "-p", "8080:80", "--", "sleep", "300")
        pid = berth_json("inspect", "w")["pid"]
        t = time.monotonic()
        berth("stop", "-t", "1", "w")  # sleep as PID 1 ignores SIGTERM: SIGKILL after 1 s
        self.assertLess(time.monotonic() - t, 5)
        doc = berth_json("inspect", "w")
        self.assertFalse(doc["running"])
        self.assertEqual(doc["exit_code"], 137)
        self.assertEqual(berth("ps", "-q").stdout, "")
        self.assertEqual(berth("start", "w").stdout.strip(), "w")
        doc = berth_json("inspect", "w")
        self.assertTrue(doc["running"])
        self.assertNotEqual(doc["pid"], pid)
        self.assertEqual(doc["networks"]["web"]["ip"], "172.18.0.50")
        self.assertEqual(berth("port", "w", "80").stdout.strip(), "0.0.0.0:8080")
        self.assertEqual(in_container("w", "hostname").stdout.strip(), doc["hostname"])
        # restart: a new process, the same container.
        berth("restart", "-t", "0", "w")
        self.assertNotEqual(berth_json("inspect", "w")["pid"], doc["pid"])
        self.assertTrue(berth_json("inspect", "w")["running"])

    def test_stop_lets_a_shell_with_a_handler_exit_cleanly(self):
        berth("run", "-d", "--name", "t", "--network", "none", "--", "sh", "-c",
              "trap 'echo bye; exit 0' TERM; while :; do sleep 0.1; done")
        time.sleep(0.3)
        berth("stop", "t")
        self.assertEqual(berth_json("inspect", "t")["exit_code"], 0)
        self.assertIn("bye", berth("logs", "t").stdout)

    def test_kill_wait_and_start_attached(self):
        berth("run", "-d", "--name", "k", "--network", "none", "--", "sleep", "300")
        waiter = subprocess.Popen([BERTH, "--root", ROOT, "wait", "k"], stdout=subprocess.PIPE,
                                  text=True)
        berth("kill", "-s", "SIGKILL", "k")
        self.assertEqual(waiter.communicate(timeout=10)[0].strip(), "137")
        self.assertIn("not running", berth("kill", "k", check=False).stderr)
        self.assertIn("invalid signal", berth("kill", "-s", "NOPE", "k", check=False).stderr)
        berth("run", "-d", "--name", "j", "--network", "none", "--", "sh", "-c", "echo hi; exit 5")
        self.assertEqual(berth("wait", "j").stdout.strip(), "5")
        p = berth("start", "-a", "j", check=False)
        self.assertEqual((p.returncode, p.stdout), (5, "hi\n"))

    def test_logs_tail_follow_timestamps(self):
        berth("run", "-d", "--name", "l", "--network", "none", "--", "sh", "-c",
              "for i in 1 2 3 4; do echo line$i; done; sleep 1; echo late")
        self.assertTrue(wait_until(lambda: "line4" in berth("logs", "l").stdout))
        self.assertEqual(berth("logs", "--tail", "2", "l").stdout, "line3\nline4\n")
        out = berth("logs", "-f", "--timestamps", "l").stdout.splitlines()  # returns at exit
        self.assertEqual([l.split(" ", 1)[1] for l in out], ["line1", "line2", "line3", "line4",
                                                             "late"])
        self.assertRegex(out[0], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ")
        # The time a line was written, not read: read again a second later, the same stamps,
        # and "late" a second after the others.
        time.sleep(1)
        again = berth("logs", "--timestamps", "l").stdout.splitlines()
        self.assertEqual(again, out)
        def when(line):
            stamp = line.split(" ", 1)[0]
            secs = datetime.datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S").replace(
                tzinfo=datetime.timezone.utc).timestamp()
            return secs + int(stamp[20:29]) / 1e9
        self.assertGreaterEqual(when(out[4]) - when(out[3]), 0.9)
        self.assertLess(time.time() - when(out[0]), 60)

    def test_top_port_and_ps_filters(self):
        berth("network", "create", "web")
        berth("run", "-d", "--name", "a", "--network", "web", "-l", "tier=front",
              "--expose", "90", "--expose", "91/udp", "-P", "-p", "8080:80", "--", "sleep", "300")
        berth("run", "-d", "--name", "b", "--network", "none", "--", "sleep", "300")
        top = berth("top", "a").stdout.splitlines()
        self.assertEqual(top[0].split(), ["PID", "UID", "PPID", "CMD"])
        self.assertEqual([l.split(None, 3)[3] for l in top[1:]], ["sleep 300"])
        ports = berth("port", "a").stdout.splitlines()
        self.assertIn("80/tcp -> 0.0.0.0:8080", ports)
        self.assertTrue(any(p.startswith("90/tcp -> 0.0.0.0:") for p in ports), ports)
        self.assertTrue(any(p.startswith("91/udp -> 0.0.0.0:") for p in ports), ports)
        ids = {c["name"]: c["id"][:12] for c in berth_json("ps", "--format", "json")}
        self.assertEqual(sorted(berth("ps", "-q").stdout.split()), sorted(ids.values()))
        self.assertEqual(berth("ps", "-q", "--filter", "name=a").stdout.split(), [ids["a"]])
        self.assertEqual(berth("ps", "-q", "--filter", "network=web").stdout.split(), [ids["a"]])
        self.assertEqual(berth("ps", "-q", "--filter", "network=none").stdout.split(), [ids["b"]])
        self.assertEqual(berth("ps", "-q", "-f", "label=tier=front").stdout.split(), [ids["a"]])
        self.assertEqual(berth("ps", "-q", "-f", "label=tier").stdout.split(), [ids["a"]])
        self.assertEqual(berth("ps", "-q", "-f", "label=tier=back").stdout.split(), [])
        berth("stop", "-t", "0", "b")
        self.assertEqual(berth("ps", "-q", "-f", "status=exited").stdout.split(), [ids["b"]])
        self.assertEqual(berth("ps", "-q", "-f", "bogus=1", check=False).returncode, 125)

    def test_restart_policies(self):
        berth("run", "-d", "--name", "f", "--restart", "on-failure:2", "--network", "none",
              "--", "sh", "-c", "echo run; exit 3")
        self.assertTrue(wait_until(lambda: berth("logs", "f").stdout.count("run") == 3
                                   and not berth_json("inspect", "f")["running"], 10))
        time.sleep(0.5)
        self.assertEqual(berth("logs", "f").stdout.count("run"), 3)  # 1 run + 2 restarts
        self.assertEqual(berth_json("inspect", "f")["config"]["restart_count"], 2)
        berth("run", "-d", "--name", "al", "--restart", "always", "--network", "none", "--",
              "sh", "-c", "sleep 0.2")
        self.assertTrue(wait_until(lambda: berth_json("inspect", "al")["config"]["restart_count"]
                                   >= 2, 10))
        berth("stop", "-t", "1", "al")  # a stopped container stays stopped
        time.sleep(1)
        self.assertFalse(berth_json("inspect", "al")["running"])
        p = berth("run", "--rm", "--restart", "always", "true", check=False)
        self.assertEqual(p.returncode, 125)
        self.assertIn("--restart", p.stderr)
        self.assertEqual(berth("run", "--restart", "sometimes", "true", check=False).returncode, 125)

    def test_init_forwards_signals_and_pid1_ignores_them_without(self):
        # PID 1 ignores a signal it has no handler for (Docker's behaviour without --init).
        self.assertEqual(berth("run", "--rm", "--network", "none", "--", "sh", "-c",
                               "kill -TERM $$; echo survived").stdout, "survived\n")
        p = berth("run", "--rm", "--init", "--network", "none", "--", "sh", "-c",
                  "kill -TERM $$; echo survived", check=False)
        self.assertEqual((p.returncode, p.stdout), (143, ""))
        berth("run", "-d", "--init", "--name", "i", "--network", "none", "--", "sleep", "300")
        t = time.monotonic()
        berth("stop", "i")  # SIGTERM reaches sleep through the init: no 10 s grace period
        self.assertLess(time.monotonic() - t, 5)
        self.assertEqual(berth_json("inspect", "i")["exit_code"], 143)

    def test_rm_of_a_running_container_says_how(self):
        berth("run", "-d", "--name", "r", "--network", "none", "--", "sleep", "300")
        p = berth("rm", "r", check=False)
        self.assertIn("stop it first or remove it with rm -f", p.stderr)
        berth("stop", "-t", "0", "r")
        berth("rm", "r")


class StoppedReleasesNetworkTest(BerthTest):
    """Docker semantics: an exited container lets go of its endpoint and gets it back on start."""

    def resolves(self, name, via="c"):
        return in_container(via, "getent", "hosts", name, check=False).stdout.split()[:1]

    def test_stop_releases_and_start_restores(self):
        berth("network", "create", "web")
        berth("run", "-d", "--name", "a", "--network", "web", "--ip", "172.18.0.50",
              "-p", "8080:80", "--alias", "db", "--mac-address", "02:42:ac:11:00:77", "--",
              "sleep", "300")
        berth("run", "-d", "--name", "b", "--network", "web", "-p", "8081:80", "--",
              "sleep", "300")
        berth("run", "-d", "--name", "c", "--network", "web", "--", "sleep", "300")
        b_ip = berth_json("inspect", "b")["networks"]["web"]["ip"]
        self.assertEqual(self.resolves("a"), ["172.18.0.50"])
        veths = lambda: sorted(l["ifname"] for l in ip_json("link", "show", "type", "veth"))
        self.assertEqual(len(veths()), 3)
        berth("stop", "-t", "0", "a", "b")
        # Released: names, addresses, ports and veths.
        self.assertEqual(self.resolves("a"), [])
        self.assertEqual(self.resolves("db"), [])
        self.assertEqual(self.resolves("b"), [])
        self.assertTrue(wait_until(lambda: len(veths()) == 1), veths())
        self.assertNotIn("8081", run(["nft", "list", "table", "inet", "berth"]).stdout)
        self.assertEqual(berth_json("inspect", "a")["networks"], {})
        self.assertEqual(berth_json("network", "inspect", "web")["containers"][0]["name"], "c")
        # Its address is free: another container may take it (then b's start gets another).
        berth("run", "-d", "--name", "d", "--network", "web", "--ip", b_ip, "--", "sleep", "300")
        # Back on start: the same static address, MAC, alias and ports; b a new address.
        berth("start", "a", "b")
        a = berth_json("inspect", "a")["networks"]["web"]
        self.assertEqual((a["ip"], a["mac"], a["interface"]),
                         ("172.18.0.50", "02:42:ac:11:00:77", "eth0"))
        self.assertEqual(self.resolves("a"), ["172.18.0.50"])
        self.assertEqual(self.resolves("db"), ["172.18.0.50"])
        new_b = berth_json("inspect", "b")["networks"]["web"]["ip"]
        self.assertNotEqual(new_b, b_ip)
        self.assertEqual(self.resolves("b"), [new_b])
        self.assertEqual(berth("port", "a").stdout, "80/tcp -> 0.0.0.0:8080\n")
        self.assertEqual(berth("port", "b").stdout, "80/tcp -> 0.0.0.0:8081\n")
        self.assertIn("inet 172.18.0.50/16", in_container("a", "ip", "-4", "addr", "show", "eth0").stdout)
        self.assertEqual(len(veths()), 4)
        # An exit of its own releases too; rm of a stopped container leaves nothing.
        berth("run", "-d", "--name", "e", "--network", "web", "--", "sh", "-c", "exit 0")
        self.assertEqual(berth("wait", "e").stdout.strip(), "0")
        self.assertTrue(wait_until(lambda: berth_json("inspect", "e")["networks"] == {}))
        berth("rm", "e")

    def test_disconnect_while_stopped(self):
        berth("network", "create", "one")
        berth("network", "create", "two")
        berth("run", "-d", "--name", "s", "--network", "one", "--", "sleep", "300")
        berth("network", "connect", "two", "s")
        berth("stop", "-t", "0", "s")
        berth("network", "disconnect", "one", "s")
        berth("start", "s")
        self.assertEqual(list(berth_json("inspect", "s")["networks"]), ["two"])

    def test_connect_while_stopped_attaches_on_start(self):
        # Docker's: the network is recorded now and attached by `start`.
        berth("network", "create", "one")
        berth("network", "create", "two")
        berth("run", "-d", "--name", "s", "--network", "one", "--", "sleep", "300")
        berth("stop", "-t", "0", "s")
        veths = lambda: [l["ifname"] for l in ip_json("link", "show", "type", "veth")]
        self.assertTrue(wait_until(lambda: veths() == []), veths())
        ip = berth_json("network", "inspect", "two")["subnet"].rsplit(".", 2)[0] + ".0.9"
        berth("network", "connect", "--ip", ip, "--alias", "x", "two", "s")
        self.assertEqual(veths(), [])
        self.assertEqual(berth_json("network", "inspect", "two")["containers"], [])
        self.assertFalse(berth_json("inspect", "s")["running"])
        self.assertFails("network", "connect", "two", "s", msg="already connected")
        self.assertFails("network", "connect", "--ip", "203.0.113.9", "one", "s",
                         msg="outside subnet")
        berth("start", "s")
        nets = berth_json("inspect", "s")["networks"]
        self.assertEqual(sorted(nets), ["one", "two"])
        self.assertEqual((nets["two"]["ip"], nets["two"]["interface"]), (ip, "eth1"))
        self.assertIn(f"inet {ip}/", in_container("s", "ip", "-4", "addr", "show", "eth1").stdout)
        self.assertEqual(len(veths()), 2)
        # Disconnect while stopped forgets the record: the next start attaches one only.
        berth("stop", "-t", "0", "s")
        berth("network", "disconnect", "two", "s")
        berth("start", "s")
        self.assertEqual(list(berth_json("inspect", "s")["networks"]), ["one"])

    def test_add_host_and_own_hosts_entries_survive_network_changes(self):
        berth("network", "create", "web")
        berth("network", "create", "db")
        berth("run", "-d", "--name", "h", "--network", "web", "--add-host", "db.local:10.1.2.3",
              "--", "sleep", "300")
        in_container("h", "sh", "-c", "echo '203.0.113.7 mine' >> /etc/hosts")
        hosts = lambda: in_container("h", "cat", "/etc/hosts").stdout
        berth("network", "connect", "db", "h")
        nets = berth_json("inspect", "h")["networks"]
        ips = [n["ip"] for n in nets.values()]
        text = hosts()
        self.assertEqual(text.count("10.1.2.3\tdb.local\n"), 1, text)
        self.assertIn("203.0.113.7 mine\n", text)
        for a in ips:
            self.assertIn(f"{a}\t", text)
        berth("network", "disconnect", "web", "h")
        berth("stop", "-t", "0", "h")
        berth("start", "h")
        text = hosts()
        self.assertEqual(text.count("10.1.2.3\tdb.local\n"), 1, text)
        self.assertEqual(text.count("203.0.113.7 mine\n"), 1, text)
        self.assertEqual(in_container("h", "getent", "hosts", "db.local").stdout.split()[:1],
                         ["10.1.2.3"])
        db_ip = berth_json("inspect", "h")["networks"]["db"]["ip"]
        self.assertIn(f"{db_ip}\t", text)
        self.assertNotIn(f"{nets['web']['ip']}\t", text)

    def test_start_after_its_network_was_removed_says_why(self):
        berth("network", "create", "tmp")
        berth("run", "-d", "--name", "t", "--network", "tmp", "--", "sleep", "300")
        berth("stop", "-t", "0", "t")
        berth("network", "rm", "tmp")  # a stopped container does not hold it
        p = berth("start", "t", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("was removed", p.stderr)


class BridgeConfigTest(BerthTest):
    """<root>/config.json: Docker's daemon.json bip, mtu and default-address-pools."""

    def write_config(self, doc):
        os.makedirs(ROOT, exist_ok=True)
        with open(os.path.join(ROOT, "config.json"), "w") as f:
            f.write(doc if isinstance(doc, str) else json.dumps(doc))

    def test_bip_mtu_and_pools(self):
        self.write_config({"bip": "172.26.0.1/24", "mtu": 1400,
                           "default-address-pools": [{"base": "10.10.0.0/16", "size": 24}]})
        bridge = berth_json("network", "inspect", "bridge")
        self.assertEqual((bridge["subnet"], bridge["gateway"], bridge["mtu"]),
                         ("172.26.0.0/24", "172.26.0.1", 1400))
        out = berth("run", "--rm", "--", "sh", "-c",
                    "ip -4 -o addr show eth0; cat /sys/class/net/eth0/mtu").stdout
        self.assertIn("inet 172.26.0.2/24", out)
        self.assertEqual(out.split()[-1], "1400")
        berth("network", "create", "n1")
        self.assertEqual(berth_json("network", "inspect", "n1")["subnet"], "10.10.0.0/24")

    def test_a_change_with_containers_attached_is_refused(self):
        berth("run", "-d", "--name", "x", "--", "sleep", "300")
        self.write_config({"bip": "172.27.0.1/24"})
        self.assertEqual(berth("ps", "-q").stdout.strip(), berth_json("inspect", "x")["id"][:12])
        p = berth("run", "--rm", "--", "true", check=False)
        self.assertEqual(p.returncode, 125)
        self.assertIn("config.json changes the default network bridge", p.stderr)
        self.assertIn("1 container(s) are attached to it", p.stderr)
        self.assertEqual(berth_json("network", "inspect", "bridge")["subnet"], "172.17.0.0/16")
        berth("rm", "-f", "x")
        self.assertIn("inet 172.27.0.2/24", berth("run", "--rm", "--", "ip", "-4", "-o", "addr",
                                                  "show", "eth0").stdout)

    def test_bad_config_is_named(self):
        try:
            self.write_config({"bogus": 1})
            self.assertIn("config.json: unknown key bogus", berth("ps", check=False).stderr)
            self.write_config({"bip": "172.26.0.0/16"})  # the network address, not a host's
            self.assertIn("config.json: bip 172.26.0.0/16", berth("ps", check=False).stderr)
        finally:
            os.unlink(os.path.join(ROOT, "config.json"))


class InfoTest(BerthTest):
    """`berth info` tells what `docker info` does: containers, networks, the state root, the
    firewall, berthd, kernel features, the default bridge's config and versions."""

    def info(self):
        return berth_json("info", "--format", "json")

    def test_info_on_a_fresh_host_then_with_containers(self):
        d = self.info()
        self.assertEqual(d["state_root"], ROOT)
        self.assertEqual(d["server_version"], berth("version").stdout.split("Version:")[1].split()[0])
        self.assertEqual(d["kernel_version"], os.uname().release)
        self.assertEqual((d["containers"], d["containers_running"], d["containers_stopped"]),
                         (0, 0, 0))
        self.assertEqual(sorted(d["networks"]), ["bridge", "host", "none"])
        fw = d["firewall"]
        self.assertEqual((fw["backend"], fw["table"], fw["in_sync"]), ("nftables", "inet berth", True))
        self.assertFalse(d["berthd"]["running"])
        kf = d["kernel_features"]
        for name in ("nftables", "bridge", "veth", "vxlan", "macvlan", "br_netfilter", "ipv6",
                     "ip_forward"):
            self.assertIn(name, kf)
        for used in ("nftables", "bridge", "veth"):  # this very test suite relies on them
            self.assertTrue(kf[used]["found"], kf[used])
        self.assertEqual(kf["ipv6"]["found"], read("/proc/sys/net/ipv6/conf/all/disable_ipv6").strip() == "0")
        br = d["default_bridge"]
        self.assertEqual((br["config_file"], br["config_present"], br["bip"], br["mtu"]),
                         (os.path.join(ROOT, "config.json"), False, "172.17.0.1/16", 1500))
        self.assertEqual(br["default_address_pools"][0], {"base": "172.18.0.0/15", "size": 16})
        self.assertEqual(br["default_address_pools"][-1], {"base": "192.168.0.0/16", "size": 20})
        self.assertIn("firewall_managers", d)

        berth("network", "create", "web")
        berth("run", "-d", "--name", "a", "--network", "web", "--", "sleep", "300")
        berth("run", "-d", "--name", "b", "--", "sh", "-c", "exit 0")
        berth("wait", "b")
        d = self.info()
        self.assertEqual((d["containers"], d["containers_running"], d["containers_stopped"]),
                         (2, 1, 1))
        self.assertEqual(sorted(d["networks"]), ["bridge", "host", "none", "web"])
        self.assertTrue(d["firewall"]["in_sync"], d["firewall"])
        b = d["berthd"]
        self.assertTrue(b["running"])
        self.assertEqual(b["pid"], berthd_pid())
        self.assertIn(d["server_version"], b["version"])
        gw = berth_json("network", "inspect", "web")["gateway"]
        self.assertIn(gw, b["dns"]["listening"])
        # berth turned forwarding on for the networks (the sandbox's own /proc/sys/net).
        self.assertTrue(d["kernel_features"]["ip_forward"]["found"], d["kernel_features"])
        # Templates see the same document; Docker's spellings through the folded lookup.
        self.assertEqual(berth("info", "--format", "{{.ContainersRunning}}/{{.Containers}} "
                               "{{.Firewall.InSync}} {{.StateRoot}} {{len .Networks}}").stdout,
                         f"1/2 true {ROOT} 4\n")
        self.assertEqual(berth("info", "--format", "{{json .DefaultBridge.Mtu}}").stdout, "1500\n")
        text = berth("info").stdout
        for line in ("Containers: 2", " Running: 1", " Stopped: 1", "Networks: 4",
                     f" State Root:       {ROOT}", " Backend:          nftables (table inet berth)",
                     " In Sync:          yes", f" Running:          running (pid {berthd_pid()})",
                     "Kernel Features:", " vxlan:", " br_netfilter:",
                     f" Config File:      {ROOT}/config.json (absent: Docker's defaults)",
                     " bip:              172.17.0.1/16", "Firewall Managers:"):
            self.assertIn(line, text)
        self.assertIn(f"listening on {gw}:53", text)

    def test_info_sees_a_deleted_table_and_the_config_file(self):
        os.makedirs(ROOT, exist_ok=True)
        with open(os.path.join(ROOT, "config.json"), "w") as f:
            json.dump({"bip": "10.66.0.1/24", "mtu": 1400,
                       "default-address-pools": [{"base": "10.10.0.0/16", "size": 24}]}, f)
        # The default bridge has no DNS: no berthd to restore the table behind our back.
        berth("run", "-d", "--name", "p", "-p", "8080:80", "--", "sleep", "300")
        self.assertIsNone(berthd_pid())
        br = self.info()["default_bridge"]
        self.assertEqual((br["config_present"], br["bip"], br["mtu"], br["default_address_pools"]),
                         (True, "10.66.0.1/24", 1400, [{"base": "10.10.0.0/16", "size": 24}]))
        run(["nft", "delete", "table", "inet", "berth"])
        fw = self.info()["firewall"]
        self.assertFalse(fw["in_sync"])
        self.assertIn("table inet berth: missing", fw["differences"])
        self.assertIn(" In Sync:          no (1 differences; berth system reconcile repairs them)",
                      berth("info").stdout)
        self.assertNotIn("berth", run(["nft", "list", "tables"]).stdout)  # info only looks
        berth("system", "reconcile")
        self.assertTrue(self.info()["firewall"]["in_sync"])


class RunFlagsTest(BerthTest):
    def test_env_workdir_user(self):
        with tempfile.NamedTemporaryFile("w", suffix=".env", delete=False) as f:
            f.write("# comment\nFROM_FILE=1\n\nBOTH=file\n")
        env = dict(os.environ, PASSED="through")
        p = run([BERTH, "--root", ROOT, "run", "--rm", "--network", "none", "--env-file", f.name,
                 "-e", "BOTH=flag", "-e", "PASSED", "-e", "UNSET_HERE", "-w", "/tmp", "-u",
                 "nobody", "--", "sh", "-c",
                 "echo $FROM_FILE $BOTH $PASSED ${UNSET_HERE-unset} $PWD $(id -un) $HOME"],
                env=env)
        os.unlink(f.name)
        self.assertEqual(p.stdout.split(), ["1", "flag", "through", "unset", "/tmp", "nobody",
                                            "/root"])
        self.assertEqual(berth("run", "--rm", "--network", "none", "-u", "0:65534", "id", "-g")
                         .stdout.strip(), "65534")
        self.assertIn("unable to find user", berth("run", "--rm", "-u", "nosuchuser", "true",
                                                   check=False).stderr)
        # exec: the container's environment and workdir, overridable.
        berth("run", "-d", "--name", "c", "--network", "none", "-e", "X=1", "-w", "/etc", "--",
              "sleep", "300")
        self.assertEqual(in_container("c", "sh", "-c", "echo $X $PWD").stdout.split(),
                         ["1", "/etc"])
        p = berth("exec", "-e", "X=2", "-w", "/tmp", "-u", "nobody", "c", "sh", "-c",
                  "echo $X $PWD $(id -un)")
        self.assertEqual(p.stdout.split(), ["2", "/tmp", "nobody"])

    def test_add_host_and_mac_address(self):
        berth("network", "create", "web")
        berth("run", "-d", "--name", "h", "--network", "web", "--add-host", "db.local:10.1.2.3",
              "--mac-address", "02:42:ac:11:00:99", "--", "sleep", "300")
        self.assertIn("10.1.2.3\tdb.local", in_container("h", "cat", "/etc/hosts").stdout)
        self.assertEqual(in_container("h", "cat", "/sys/class/net/eth0/address").stdout.strip(),
                         "02:42:ac:11:00:99")
        self.assertEqual(berth_json("inspect", "h")["networks"]["web"]["mac"], "02:42:ac:11:00:99")
        for bad in (["--mac-address", "01:00:00:00:00:01"], ["--add-host", "nohost"]):
            self.assertNotEqual(berth("run", "--rm", "--network", "web", *bad, "true",
                                      check=False).returncode, 0, bad)
        self.assertEqual(berth("ps", "-a", "-q").stdout.split(), [berth_json("inspect", "h")["id"][:12]])

    def test_private_pid_and_ipc_namespaces(self):
        out = berth("run", "--rm", "--network", "none", "--", "sh", "-c",
                    "echo $$; ps -e -o comm=").stdout.split()
        self.assertEqual(out, ["1", "sh", "ps"])
        host_ipc = os.readlink("/proc/self/ns/ipc")
        inside = berth("run", "--rm", "--network", "none", "readlink", "/proc/self/ns/ipc")
        self.assertNotEqual(inside.stdout.strip(), host_ipc)
        shared = berth("run", "--rm", "--network", "none", "--ipc", "host", "--pid", "host",
                       "--", "sh", "-c", "readlink /proc/self/ns/ipc; ps -e -o pid= | wc -l")
        ipc, count = shared.stdout.split()
        self.assertEqual(ipc, host_ipc)
        self.assertGreater(int(count), 3)
        # exec joins the container's PID namespace: only its processes.
        berth("run", "-d", "--name", "p", "--network", "none", "--", "sleep", "300")
        comms = in_container("p", "ps", "-e", "-o", "comm=").stdout.split()
        self.assertEqual(comms, ["sleep", "ps"])


class InteractiveTest(BerthTest):
    def test_run_it_gives_a_shell_and_its_exit_status(self):
        status, screen = interactive(
            [BERTH, "--root", ROOT, "run", "-it", "--rm", "--network", "none", "--", "sh"],
            [(1, "echo $((6*7)); tty; ps -o stat= -p $$\n"), (1, "exit 3\n")])
        self.assertEqual(status, 3, screen)
        lines = screen.splitlines()
        self.assertIn("42", lines)
        self.assertTrue(any(l.startswith("/dev/pts/") for l in lines), screen)
        # A sleeping session leader (job control); other flags (N under nice, <) may be there.
        stat = lines[lines.index("42") + 2]  # after the answer and the tty
        self.assertTrue(stat.startswith("S") and "s" in stat, lines)
        self.assertEqual(berth("ps", "-a", "-q").stdout, "")  # --rm

    def test_an_interactive_session_is_logged(self):
        status, screen = interactive(
            [BERTH, "--root", ROOT, "run", "-it", "--name", "s", "--network", "none", "--", "sh"],
            [(1, "echo $((6*7))\n"), (1, "exit 0\n")])
        self.assertEqual(status, 0, screen)
        self.assertIn("42", berth("logs", "s").stdout.replace("\r", "").splitlines())

    @unittest.skipUnless(shutil.which("tmux"), "tmux not installed (scripts/bootstrap.sh)")
    def test_window_size_follows_the_terminal_in_tmux(self):
        tmux = ["tmux", "-L", f"berth-test-{os.getpid()}", "-f", "/dev/null"]
        shell = shlex.join([BERTH, "--root", ROOT, "run", "-it", "--rm", "--network", "none",
                            "--", "sh"])
        run(tmux + ["new-session", "-d", "-x", "100", "-y", "30",
                    f"{shell}; echo EXIT=$?; sleep 60"])
        try:
            screen = lambda: run(tmux + ["capture-pane", "-p"]).stdout
            self.assertTrue(wait_until(lambda: "#" in screen(), 10), screen())
            run(tmux + ["send-keys", "stty size", "Enter"])
            self.assertTrue(wait_until(lambda: "30 100" in screen(), 5), screen())
            run(tmux + ["resize-window", "-x", "120", "-y", "40"])
            time.sleep(0.3)
            run(tmux + ["send-keys", "stty size; exit 7", "Enter"])
            self.assertTrue(wait_until(lambda: "EXIT=7" in screen(), 5), screen())
            self.assertIn("40 120", screen())
        finally:
            run(tmux + ["kill-server"], check=False)

    def test_exec_it_and_ctrl_c_reaching_the_container(self):
        berth("run", "-d", "--name", "w", "--network", "none", "--", "sleep", "300")
        status, screen = interactive(
            [BERTH, "--root", ROOT, "exec", "-it", "w", "sh"],
            [(1, "echo in-exec $((2+3)); sleep 100\n"), (1, "\x03"), (0.5, "echo after; exit 4\n")])
        self.assertEqual(status, 4, screen)
        self.assertIn("in-exec 5", screen)
        self.assertIn("after", screen.splitlines())
        self.assertTrue(berth_json("inspect", "w")["running"])  # ^C reached the exec'd shell only

    def test_detached_tty_writes_to_the_log(self):
        berth("run", "-d", "-t", "--name", "t", "--network", "none", "--", "sh", "-c",
              "tty; echo hi")
        self.assertEqual(berth("wait", "t").stdout.strip(), "0")
        out = berth("logs", "t").stdout.replace("\r", "").split()
        self.assertTrue(out[0].startswith("/dev/pts/"), out)
        self.assertEqual(out[1], "hi")


class SurfaceTest(BerthTest):
    def test_container_aliases_network_modes_and_version(self):
        berth("container", "run", "-d", "--name", "x", "--network", "none", "--", "sleep", "300")
        self.assertIn("x", berth("container", "ls").stdout)
        self.assertIn("x", berth("container", "ps", "-a").stdout)
        self.assertEqual(berth("container", "inspect", "x").stdout, berth("inspect", "x").stdout)
        self.assertEqual(berth("container", "exec", "x", "echo", "hi").stdout, "hi\n")
        berth("container", "stop", "-t", "0", "x")
        berth("container", "rm", "x")
        nets = [l.split()[1] for l in berth("network", "ls").stdout.splitlines()[1:]]
        self.assertEqual(nets[-2:], ["host", "none"])
        berth("run", "-d", "--name", "y", "--network", "none", "--", "sleep", "300")
        p = berth("network", "connect", "host", "y", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("container cannot be disconnected from host network or connected to host "
                      "network", p.stderr)
        self.assertIn("Version:", berth("version").stdout)
        v = berth_json("version", "--format", "json")["client"]["version"]
        self.assertEqual(berth("version", "-f", "{{.Client.Version}} {{.Client.Os}}").stdout,
                         f"{v} linux\n")

    def test_every_verb_has_help_with_an_example(self):
        verbs = [[v] for v in ("run", "exec", "ps", "rm", "inspect", "start", "stop", "restart",
                                "kill", "logs", "port", "top", "wait", "version", "container",
                                "completion", "man", "demo")]
        verbs += [["network", v] for v in ("create", "ls", "inspect", "rm", "prune", "explain",
                                           "connect", "disconnect")]
        for verb in verbs:
            p = berth(*verb, "--help")
            self.assertIn("Example:", p.stdout, verb)

    def test_bash_completion_from_the_command_tree(self):
        script = berth("completion", "bash").stdout
        def complete(line):
            words = line.split(" ")
            prog = (script + f"\nCOMP_WORDS=({' '.join(json.dumps(w) for w in words)}); "
                    f"COMP_CWORD={len(words) - 1}; _berth; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
            return run(["bash", "-c", prog]).stdout.split()
        self.assertIn("complete -o default -F _berth berth",
                      run(["bash", "-c", script + "\ncomplete -p berth"]).stdout)
        self.assertEqual(complete("berth st"), ["start", "stop"])
        self.assertIn("create", complete("berth network "))
        self.assertEqual(complete("berth stop --t"), ["--time", "--timeout"])
        self.assertIn("--restart", complete("berth run --"))
        self.assertIn("--env-file", complete("berth run -e A=1 --e"))
        self.assertEqual(complete("berth run -- sh "), [])  # the container's command: files
        zsh = berth("completion", "zsh").stdout
        self.assertTrue(zsh.startswith("#compdef berth"))

    # A real interactive zsh on a pseudo-terminal (zsh/zpty): the line is typed with a TAB, then
    # ^A and `print -r -- RESULT: ` prefix it, so Enter prints what completion made of it.
    ZSH_DRIVER = r"""
zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z 'bindkey -e; PS1="%% "; %(setup)s || print LOAD-"FAILED"; print READY-"GO"'
zpty -r -m z ready '*READY-GO*'  # keys typed before the prompt would be echoed, not completed
complete() {
  zpty -w -n z "$1"$'\t\x01print -r -- R""ESULT: \n'
  local out="" line
  while zpty -r -t z line 2>/dev/null || { sleep 0.05; zpty -r -t z line; }; do
    out+=$line
    [[ $out == *LOAD-FAILED* ]] && { print LOAD-FAILED; return; }
    [[ $out == *$'\n'RESULT:\ *$'\r'* ]] && break
  done
  out=${out##*$'\n'RESULT: }
  print -r -- "${out%%$'\r'*}"
}
for line in "$@"; do complete "$line"; done
zpty -d z
"""

    def test_zsh_completion_loads_and_completes_in_a_real_zsh(self):
        # What a zsh user does: compinit, then the generated script; nothing may be printed.
        p = run(["zsh", "-c", f"autoload -U compinit; compinit -u; "
                 f"source <({shlex.quote(BERTH)} --root {ROOT} completion zsh); "
                 "print -r -- $_comps[berth]"])
        self.assertEqual((p.stdout, p.stderr), ("_berth\n", ""))
        lines = ["berth sto", "berth network conn", "berth stop --ti", "berth run --resta",
                 "berth run -e A=1 --env-f", "berth run -- cat /etc/hostn"]
        want = ["berth stop", "berth network connect", "berth stop --time", "berth run --restart",
                "berth run -e A=1 --env-file", "berth run -- cat /etc/hostname"]
        berth_cmd = shlex.quote(BERTH) + " --root " + ROOT
        with tempfile.TemporaryDirectory() as fpath:
            # Both ways the example shows: sourced, and installed as _berth in $fpath.
            with open(os.path.join(fpath, "_berth"), "w") as f:
                f.write(berth("completion", "zsh").stdout)
            for setup in (f"autoload -U compinit; compinit -u; source <({berth_cmd} completion zsh)",
                          f"fpath=({fpath} $fpath); autoload -U compinit; "
                          f"compinit -u -d {fpath}/.zcompdump"):
                driver = os.path.join(fpath, "driver.zsh")
                with open(driver, "w") as f:
                    f.write(self.ZSH_DRIVER % {"setup": setup})
                p = run(["timeout", "30", "zsh", "-f", driver, *lines], timeout=40)
                self.assertEqual(p.stdout.splitlines(), want, (setup, p.stderr))

    def test_man_pages(self):
        page = berth("man", "run").stdout
        self.assertTrue(page.startswith(".TH BERTH-RUN 1"))
        self.assertIn("\\-\\-restart", page)
        self.assertIn(".SH NOTES", page)
        with tempfile.TemporaryDirectory() as d:
            berth("man", "--output-dir", d)
            self.assertIn("berth-network-create.1", os.listdir(d))
            self.assertIn("berth-stop.1", os.listdir(d))
            if os.path.exists("/usr/bin/man"):
                text = run(["man", "-l", os.path.join(d, "berth-stop.1")],).stdout
                self.assertIn("SIGKILL", text)


if __name__ == "__main__":
    main()
