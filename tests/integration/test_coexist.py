"""Coexistence with other firewall managers (issue 16): Docker (Debian's docker.io, started
with the shared dockerd-in-sandbox.sh) before or after berth, and firewalld (nftables backend,
on a private D-Bus). In every order, berth's forwarded traffic works (egress, a published port
from the LAN, container to container, DNS by name), Docker's containers still reach the
upstream, a dockerd restart is repaired by the reconcile entry point within 1 s, and removing
berth's last network leaves Docker's rules as they were. Each test prints its row of the matrix.
Skips (with the reason) where dockerd or firewalld cannot run."""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import (BerthTest, World, ask, berth, berth_json, in_container, main, run,
                     serve_peer_echo, wait_listening, wait_until)

UP, HOST_UP, LAN, HOST_LAN = "198.51.100.2", "198.51.100.1", "203.0.113.2", "203.0.113.1"
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOCKERD_SCRIPT = os.path.join(REPO, "..", "shared", "tools", "dockerd-in-sandbox.sh")
LAB = "/run/coexist-lab"
MATRIX = {}


def sysctl(key, value):
    with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
        f.write(str(value))


def iptables_rules():
    """iptables-save and the nft ruleset, without counters and timestamps (traffic moves
    those; the rules themselves must not change)."""
    save = run(["iptables-save"]).stdout
    save = "\n".join(l for l in save.splitlines() if not l.startswith("#"))
    save = re.sub(r"\[\d+:\d+\]", "", save)
    nft = run(["nft", "list", "ruleset"]).stdout
    nft = re.sub(r"counter packets \d+ bytes \d+", "counter", nft)
    # berth's own table is not Docker's; it is compared by berth's own tests.
    nft = re.sub(r"table inet berth \{.*?\n\}\n", "", nft, flags=re.S)
    return save, nft


class Dockerd:
    """Debian's dockerd in this sandbox, with its own data root (shared script)."""

    def __init__(self):
        self.host = None

    def start(self):
        p = run(["bash", DOCKERD_SCRIPT, LAB], check=False, timeout=60)
        if p.returncode != 0:
            raise unittest.SkipTest("dockerd cannot start here: " + (p.stderr or p.stdout)[-400:])
        self.host = p.stdout.strip().splitlines()[-1]

    def pid(self):
        try:
            with open(os.path.join(LAB, "docker.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: not os.path.exists(f"/proc/{pid}"), timeout=20)

    def docker(self, *args, check=True, timeout=60):
        return run(["docker", "-H", self.host, *args], check=check, timeout=timeout)

    def busybox_image(self):
        """A tiny image from busybox-static (no registry is reachable)."""
        if self.docker("image", "inspect", "bb", check=False).returncode == 0:
            return
        rootfs = tempfile.mkdtemp(dir=LAB)
        os.makedirs(os.path.join(rootfs, "bin"))
        shutil.copy("/bin/busybox", os.path.join(rootfs, "bin", "busybox"))
        for d in ("etc", "tmp", "proc", "sys", "dev"):
            os.makedirs(os.path.join(rootfs, d), exist_ok=True)
        tar = os.path.join(LAB, "bb.tar")
        run(["tar", "-C", rootfs, "-cf", tar, "."])
        self.docker("import", tar, "bb")

    def container_reaches_upstream(self):
        p = self.docker("run", "--rm", "bb", "/bin/busybox", "nc", "-w", "3", UP, "80",
                        check=False)
        return p.stdout.strip() == HOST_UP


class CoexistTest(BerthTest):
    def setUp(self):
        super().setUp()
        if not shutil.which("dockerd"):
            self.skipTest("dockerd missing: apt-get install docker.io")
        if not os.path.exists(DOCKERD_SCRIPT):
            self.skipTest(f"{DOCKERD_SCRIPT} missing")
        self.world = World()
        serve_peer_echo(netns="up")
        self.dockerd = Dockerd()

    def tearDown(self):
        super().tearDown()
        self.dockerd.stop()
        self.world.close()  # (a skip in a test method still runs tearDown)

    def start_berth_side(self):
        berth("network", "create", "web")
        for name, publish in (("web1", ["-p", "18080:80"]), ("web2", [])):
            berth("run", "-d", "--name", name, "--network", "web", *publish, "--", "sh", "-c",
                  "socat TCP-LISTEN:80,fork,reuseaddr SYSTEM:'echo $SOCAT_PEERADDR'")
            self.assertTrue(wait_listening(name, 80))
        return berth_json("inspect", "web1")["networks"]["web"]["ip"]

    def traffic(self, web1):
        """The four paths of berth's forwarded traffic: which ones work."""
        dns = in_container("web2", "getent", "hosts", "web1", check=False).stdout.split()
        return {
            "egress": ask(UP, 80, container="web1") == HOST_UP,
            "published": ask(HOST_LAN, 18080, netns="lan") == LAN,
            "c2c": ask(web1, 80, container="web2") is not None,
            "dns": bool(dns) and dns[0] == web1,
        }

    def assertAllWork(self, web1, row):
        t = self.traffic(web1)
        MATRIX[row] = t
        print(f"\n  matrix {row}: {t}", flush=True)
        self.assertEqual(t, {"egress": True, "published": True, "c2c": True, "dns": True}, row)

    def assertBackWithin1s(self):
        start = time.monotonic()
        out = berth("system", "firewall-sync").stdout
        back = wait_until(lambda: ask(UP, 80, container="web1", timeout=1) == HOST_UP, 1.0)
        elapsed = time.monotonic() - start
        print(f"\n  back after firewall-sync in {elapsed:.2f} s; sync said:\n{out}", flush=True)
        self.assertTrue(back and elapsed <= 1.0, f"traffic back after {elapsed:.2f} s")

    def info(self):
        return {f["manager"]: f for f in berth_json("info", "--format", "json")["firewall_managers"]}

    def test_docker_first(self):
        sysctl("net.ipv4.ip_forward", 0)  # a host that boots with Docker: FORWARD DROP
        self.dockerd.start()
        self.assertIn("-P FORWARD DROP", run(["iptables", "-S", "FORWARD"]).stdout)
        self.dockerd.busybox_image()
        self.assertTrue(self.dockerd.container_reaches_upstream(), "Docker before berth")
        before = iptables_rules()

        web1 = self.start_berth_side()
        self.assertAllWork(web1, "docker first")
        # berth's additions: its own chain, one commented jump in DOCKER-USER; iptables itself
        # reads the table (the rules are in iptables-nft's own format).
        rules = run(["iptables", "-S"]).stdout
        self.assertIn("-A DOCKER-USER -m comment --comment berth -j BERTH-FORWARD", rules)
        self.assertIn("-A BERTH-FORWARD -i br-", rules)
        self.assertIn("-P FORWARD DROP", rules)  # Docker's policy untouched
        info = self.info()
        self.assertTrue(info["iptables-nft"]["present"])
        self.assertIn("DROP", info["iptables-nft"]["state"])
        self.assertTrue(info["docker"]["present"])
        self.assertIn("in place", info["iptables-nft"]["action"])
        self.assertTrue(self.dockerd.container_reaches_upstream(), "Docker beside berth")

        # The jump is what makes it work: without it (deleted by iptables itself, which
        # reads berth's rule as its own) Docker's DROP wins again.
        run(["iptables", "-D", "DOCKER-USER", "-m", "comment", "--comment", "berth",
             "-j", "BERTH-FORWARD"])
        self.assertFalse(ask(UP, 80, container="web1", timeout=1) == HOST_UP, "no jump: dropped")
        MATRIX["docker first, berth's jump deleted"] = self.traffic(web1)
        self.assertBackWithin1s()

        # A restart of dockerd (systemctl restart docker) rewrites its chains; the reconcile
        # entry point puts back whatever of berth's went, and traffic is back within 1 s.
        self.dockerd.stop()
        self.dockerd.start()
        self.assertBackWithin1s()
        self.assertAllWork(web1, "docker restarted")
        self.assertTrue(self.dockerd.container_reaches_upstream(), "Docker after restart")

        # The last network goes: Docker's rules exactly as before berth came.
        for c in ("web1", "web2"):
            berth("rm", "-f", c)
        berth("network", "rm", "web")
        after = iptables_rules()
        self.assertEqual(before[0], after[0], "iptables-save differs")
        self.assertEqual(before[1], after[1], "nft ruleset differs")
        self.assertTrue(self.dockerd.container_reaches_upstream(), "Docker after berth left")

    def test_berth_first(self):
        web1 = self.start_berth_side()
        self.assertAllWork(web1, "berth first (before dockerd)")
        self.dockerd.start()
        self.dockerd.busybox_image()
        # No sync yet: what the host sees until berthd's reconcile runs.
        MATRIX["berth first, dockerd just started"] = self.traffic(web1)
        berth("system", "firewall-sync")
        self.assertAllWork(web1, "berth first, after reconcile")
        # The same end state as Docker first: Docker filters in FORWARD (policy ACCEPT here),
        # and may drop later, so berth's jump is in DOCKER-USER all the same.
        self.assertIn("-A DOCKER-USER -m comment --comment berth -j BERTH-FORWARD",
                      run(["iptables", "-S"]).stdout)
        self.assertTrue(self.dockerd.container_reaches_upstream(), "Docker after berth")


FIREWALLD_BUS = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={sock}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"""


class FirewalldTest(BerthTest):
    """firewalld (nftables backend) on a private system bus; its configuration is a copy, so
    nothing is written to the machine's /etc."""

    def setUp(self):
        super().setUp()
        for tool in ("firewalld", "dbus-daemon", "firewall-cmd"):
            if not shutil.which(tool):
                self.skipTest(f"{tool} missing: apt-get install firewalld dbus")
        # firewalld alone: what the Docker tests of this sandbox left in iptables goes first.
        for table in ("ip filter", "ip nat", "ip6 filter", "ip6 nat"):
            run(["nft", "delete", "table", *table.split()], check=False)
        self.world = World()
        self.addCleanup(self.world.close)  # also when setUp skips below
        serve_peer_echo(netns="up")
        self.procs = []
        self.addCleanup(self.stop_procs)
        self.dir = tempfile.mkdtemp(prefix="coexist-fw-", dir="/run")
        sock = os.path.join(self.dir, "system_bus_socket")
        conf = os.path.join(self.dir, "bus.conf")
        with open(conf, "w") as f:
            f.write(FIREWALLD_BUS.format(sock=sock))
        self.procs.append(subprocess.Popen(["dbus-daemon", "--config-file", conf, "--nofork",
                                            "--nopidfile"], stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL))
        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = "unix:path=" + sock
        if not wait_until(lambda: os.path.exists(sock), 5):
            self.skipTest("dbus-daemon did not start")
        etc = os.path.join(self.dir, "etc")
        shutil.copytree("/etc/firewalld", etc)
        log = os.path.join(self.dir, "firewalld.log")
        with open(log, "w") as out:
            self.procs.append(subprocess.Popen(
                ["firewalld", "--nofork", "--nopid", "--system-config", etc,
                 "--log-target", "file", "--log-file", log], stdout=out, stderr=out))
        ok = wait_until(lambda: run(["firewall-cmd", "--state"], check=False).returncode == 0,
                        30, 0.2)
        if not ok:
            self.skipTest("firewalld cannot run here: " + open(log).read()[-400:])

    def stop_procs(self):
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        os.environ.pop("DBUS_SYSTEM_BUS_ADDRESS", None)

    start_berth_side = CoexistTest.start_berth_side
    traffic = CoexistTest.traffic
    assertAllWork = CoexistTest.assertAllWork
    assertBackWithin1s = CoexistTest.assertBackWithin1s

    def test_firewalld(self):
        self.assertIn("table inet firewalld", run(["nft", "list", "tables"]).stdout)
        web1 = self.start_berth_side()
        self.assertAllWork(web1, "firewalld")
        bridge = berth_json("network", "inspect", "web")["bridge"]
        zone = run(["firewall-cmd", "--get-zone-of-interface", bridge]).stdout.strip()
        self.assertEqual(zone, "trusted")
        info = {f["manager"]: f for f in berth_json("info", "--format", "json")["firewall_managers"]}
        self.assertTrue(info["firewalld"]["present"])
        # The binding is what makes it work: without it firewalld's zones reject the traffic.
        run(["firewall-cmd", "--zone=trusted", "--remove-interface=" + bridge])
        MATRIX["firewalld, bridge unbound"] = self.traffic(web1)
        self.assertFalse(MATRIX["firewalld, bridge unbound"]["egress"], "unbound: rejected")
        self.assertBackWithin1s()
        # A reload of firewalld; the reconcile entry point repairs whatever it dropped.
        run(["firewall-cmd", "--reload"], timeout=60)
        MATRIX["firewalld reloaded, before sync"] = self.traffic(web1)
        self.assertBackWithin1s()
        self.assertAllWork(web1, "firewalld reloaded")
        for c in ("web1", "web2"):
            berth("rm", "-f", c)
        berth("network", "rm", "web")
        p = run(["firewall-cmd", "--get-zone-of-interface", bridge], check=False)
        self.assertNotEqual(p.stdout.strip(), "trusted")


class LegacyIptablesTest(BerthTest):
    """A host whose iptables is the legacy variant (x_tables, written through libip4tc): the
    FORWARD DROP and DOCKER-USER chain Docker leaves there, made by iptables-legacy itself."""

    def setUp(self):
        super().setUp()
        if not shutil.which("iptables-legacy"):
            self.skipTest("iptables-legacy missing")
        p = run(["iptables-legacy", "-P", "FORWARD", "DROP"], check=False)
        if p.returncode != 0:
            self.skipTest("no legacy x_tables in this kernel: " + p.stderr.strip())
        run(["iptables-legacy", "-N", "DOCKER-USER"])
        run(["iptables-legacy", "-A", "DOCKER-USER", "-j", "RETURN"])
        run(["iptables-legacy", "-A", "FORWARD", "-j", "DOCKER-USER"])
        self.world = World()
        serve_peer_echo(netns="up")

    def tearDown(self):
        super().tearDown()
        for args in (["-P", "FORWARD", "ACCEPT"], ["-F"], ["-X"]):
            run(["iptables-legacy", *args], check=False)
        self.world.close()

    start_berth_side = CoexistTest.start_berth_side
    traffic = CoexistTest.traffic
    assertAllWork = CoexistTest.assertAllWork

    def test_legacy_forward_drop(self):
        before = run(["iptables-legacy", "-S"]).stdout
        web1 = self.start_berth_side()
        self.assertAllWork(web1, "iptables-legacy DROP + DOCKER-USER")
        rules = run(["iptables-legacy", "-S"]).stdout
        self.assertIn("-A DOCKER-USER -m comment --comment berth -j BERTH-FORWARD", rules)
        self.assertIn("-A BERTH-FORWARD -i br-", rules)
        for c in ("web1", "web2"):
            berth("rm", "-f", c)
        berth("network", "rm", "web")
        self.assertEqual(run(["iptables-legacy", "-S"]).stdout, before)


if __name__ == "__main__":
    try:
        main()
    finally:
        print("\nmatrix:", json.dumps(MATRIX, indent=1))
