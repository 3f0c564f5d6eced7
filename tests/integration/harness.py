"""Helpers for berth's integration tests: run the real binary as a user would, observe the
kernel with the standard tools (ip -j, nft -j, ping), and build the "outside world" of
DESIGN.md section 5 as namespaces joined by veth.

Every test file runs in its own sandbox (tests/sandbox.sh): a fresh network and mount
namespace that plays the host. The harness refuses to run anywhere else.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time
import unittest

BERTH = os.environ.get("BERTH_BIN", os.path.join(os.path.dirname(__file__), "../../build/berth"))
ROOT = os.environ.get("BERTH_TEST_ROOT", "/run/berth-test")

# The only addresses tests may use for the outside world (DESIGN.md section 5).
UPSTREAM_NET = "198.51.100"  # .1 = the host's side, .2 = the upstream namespace
LAN_NET = "203.0.113"        # .1 = the host's side, .2.. = LAN clients


def _assert_sandboxed():
    parent = os.environ.get("BERTH_SANDBOX_PARENT_NETNS")
    if not parent or int(parent) == os.stat("/proc/self/ns/net").st_ino \
            or not os.path.exists("/run/sandbox/resolv.conf"):
        raise SystemExit("refusing to run: not inside a test sandbox (use tests/sandbox.sh)")


_assert_sandboxed()


def run(argv, check=True, timeout=30, input=None, env=None):
    """Runs argv; returns CompletedProcess with text stdout/stderr."""
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input,
                       env=env)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {p.returncode}\n"
                             f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def read(path):
    with open(path) as f:
        return f.read()


def berth(*args, check=True, timeout=30, root=None):
    return run([BERTH, "--root", root or ROOT, *args], check=check, timeout=timeout)


def berth_json(*args, root=None):
    return json.loads(berth(*args, root=root).stdout)


def ip_json(*args, netns=None):
    argv = ["ip", "-j", *args] if netns is None else ["ip", "-n", netns, "-j", *args]
    out = run(argv).stdout.strip()
    return json.loads(out) if out else []


def in_container(name, *argv, check=True, timeout=30):
    """Runs a command inside a container, the way users do: berth exec."""
    return berth("exec", name, "--", *argv, check=check, timeout=timeout)


def ping(name, ip, count=1, wait=2):
    """True when `ip` answers a ping sent from container `name`."""
    return in_container(name, "ping", "-c", str(count), "-W", str(wait), ip,
                        check=False).returncode == 0


def host_links(settle=True):
    """The sandbox host's link names. berth deletes a detached container's host veth in the
    background once it is down (the kernel takes ~25 ms per deletion); with `settle`, wait
    (up to 5 s) until no such released veth is left, so "nothing left" checks see the end."""
    def released():
        return [l["ifname"] for l in ip_json("link")
                if re.fullmatch(r"veth[0-9a-f]{11}", l["ifname"]) and "UP" not in l["flags"]]
    if settle:
        wait_until(lambda: not released(), timeout=5.0)
    return {l["ifname"] for l in ip_json("link")}


def nft_ruleset():
    return run(["nft", "-j", "list", "ruleset"]).stdout


def netns_add(name):
    run(["ip", "netns", "del", name], check=False)  # a leftover of a failed test
    run(["ip", "netns", "add", name])
    run(["ip", "-n", name, "link", "set", "lo", "up"])


def netns_exec(name, *argv, check=True, timeout=30):
    return run(["ip", "netns", "exec", name, *argv], check=check, timeout=timeout)


def wire_namespace(name, host_ip, ns_ip, prefix=24, host_if=None):
    """A namespace joined to the sandbox host by a veth: host side host_ip, far side ns_ip,
    with a default route back via the host. Returns the host-side interface name."""
    netns_add(name)
    host_if = host_if or f"to-{name}"[:15]
    run(["ip", "link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", name])
    run(["ip", "addr", "add", f"{host_ip}/{prefix}", "dev", host_if])
    run(["ip", "link", "set", host_if, "up"])
    run(["ip", "-n", name, "addr", "add", f"{ns_ip}/{prefix}", "dev", "eth0"])
    run(["ip", "-n", name, "link", "set", "eth0", "up"])
    run(["ip", "-n", name, "route", "add", "default", "via", host_ip])
    return host_if


# Background processes a test started (servers in namespaces or containers); the test's
# tearDown ends them by PID. (Whatever is left when the sandbox ends dies with its PID
# namespace.)
STARTED = []


def start_background(argv):
    """Starts argv in the background and remembers it."""
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    STARTED.append(p)
    return p.pid


def stop_background():
    while STARTED:
        p = STARTED.pop()
        p.kill()
        p.wait()


class World:
    """The outside world of DESIGN.md section 5, joined to the sandbox host by veths:
    `up` (198.51.100.2, the host is .1) and `lan` (203.0.113.2, the host is .1)."""

    NAMESPACES = ("up", "lan")

    def __init__(self):
        wire_namespace("up", f"{UPSTREAM_NET}.1", f"{UPSTREAM_NET}.2")
        wire_namespace("lan", f"{LAN_NET}.1", f"{LAN_NET}.2")

    def close(self):
        for ns in self.NAMESPACES:
            run(["ip", "link", "del", f"to-{ns}"], check=False)
            run(["ip", "netns", "del", ns], check=False)


PEER_ECHO = "socat {proto}-LISTEN:{port},fork,reuseaddr SYSTEM:'echo $SOCAT_PEERADDR'"


def serve_peer_echo(container=None, port=80, proto="TCP", netns=None):
    """A server that answers every connection with the address it sees the client at."""
    argv = ["sh", "-c", PEER_ECHO.format(proto=proto, port=port)]
    if container:
        argv = [BERTH, "--root", ROOT, "exec", container, "--", *argv]
    elif netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    start_background(argv)
    time.sleep(0.05)


def ask(ip, port, container=None, netns=None, proto="TCP", timeout=2):
    """Connects to ip:port and returns the first line answered (the address the server saw
    us at), or None when nothing answers. From a container, a namespace or the host."""
    target = f"{proto}:{ip}:{port}" + (",connect-timeout=1" if proto == "TCP" else "")
    argv = ["socat", f"-T{timeout}", "-", target]
    stdin = "hello\n" if proto == "UDP" else ""
    if container:
        argv = [BERTH, "--root", ROOT, "exec", "-i", container, "--", *argv]
    elif netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    for _ in range(3):  # a server just started in the background may not listen yet
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 5, input=stdin)
        line = p.stdout.strip().splitlines()
        if line:
            return line[0]
        # UDP promises no delivery: a datagram lost on a loaded machine is sent again, as any
        # UDP client (a resolver) would; TCP's silence is an answer.
        if "refused" not in p.stderr and proto != "UDP":
            return None
        time.sleep(0.1)
    return None


def wait_listening(container, port, udp=False, timeout=5.0):
    """Waits until something in `container` listens on `port` (servers start in the
    background; UDP gives a client no "refused" to retry on)."""
    flags = "-Hlun" if udp else "-Hltn"
    return wait_until(lambda: f":{port} " in in_container(container, "ss", flags).stdout,
                      timeout=timeout)


def nft_rule_count():
    doc = json.loads(run(["nft", "-j", "list", "table", "inet", "berth"]).stdout)
    return sum(1 for o in doc["nftables"] if "rule" in o)


def nft_elements(set_name):
    doc = json.loads(run(["nft", "-j", "list", "table", "inet", "berth"]).stdout)
    for o in doc["nftables"]:
        body = o.get("set") or o.get("map")
        if body and body["name"] == set_name:
            return body.get("elem", [])
    return None


def root_mounts():
    """Mount points under the state root (the netns directory and each netns bind mount)."""
    with open("/proc/self/mountinfo") as f:
        return sorted(l.split()[4] for l in f if l.split()[4].startswith(ROOT))


def root_files(sub):
    """Entries of $ROOT/<sub> (netns, containers); empty when the directory does not exist."""
    d = os.path.join(ROOT, sub)
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def state_snapshot():
    """Everything a failed command must leave unchanged: links, addresses, routes, nftables,
    netns mounts and files, and berth's own view of its state."""
    mounts = root_mounts()
    addrs = sorted((a["ifname"], i["local"]) for a in ip_json("addr") for i in a.get("addr_info", []))
    # Carrier state is the kernel's, not configuration: a bridge's routes show "linkdown" a
    # moment after its last port goes (asynchronously), so it is left out of the comparison.
    routes = sorted(json.dumps({**r, "flags": [f for f in r.get("flags", []) if f != "linkdown"]},
                               sort_keys=True) for r in ip_json("route"))
    containers = berth("ps", "-a", "--format", "json").stdout
    networks = berth("network", "ls", "--format", "json").stdout
    return {"links": sorted(host_links()), "addrs": addrs, "routes": routes,
            "nft": nft_ruleset(), "mounts": mounts, "containers": containers,
            "networks": networks, "files": root_files("containers"),
            "netns_files": root_files("netns")}


def ps(all=False):
    """Names of the containers `berth ps [-a]` lists."""
    args = ["ps", "-a"] if all else ["ps"]
    return sorted(c["name"] for c in berth_json(*args, "--format", "json"))


def netns_inode(path):
    return os.stat(path).st_ino


def process_gone(pid):
    """True once `pid` has exited (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def wait_until(pred, timeout=5.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return pred()


def berthd_pid(root=None):
    """The pid of the berthd serving `root`, or None when none runs."""
    try:
        pid = int(read(os.path.join(root or ROOT, "berthd.pid")).strip())
    except (OSError, ValueError):
        return None
    return None if _gone(pid) else pid


def _gone(pid):
    """True when `pid` no longer runs (a zombie waiting for its parent counts as gone)."""
    try:
        return read(f"/proc/{pid}/stat").rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def stop_berthd(root=None, timeout=5.0):
    """SIGTERM to the berthd of `root` (by its pid file), then wait until it is gone."""
    pid = berthd_pid(root)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    if not wait_until(lambda: _gone(pid), timeout):
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: _gone(pid), timeout)


class BerthTest(unittest.TestCase):
    """Base class: a clean state root per test, and everything berth made removed after it
    (so one failing test does not cascade into the next)."""

    def setUp(self):
        # A fresh root: the previous test's netns directory is a mount point rmtree cannot
        # remove, so unmount what is mounted under the root first.
        for m in reversed(root_mounts()):
            run(["umount", "-l", m], check=False)
        shutil.rmtree(ROOT, ignore_errors=True)

    def tearDown(self):
        stop_background()
        if not os.path.exists(os.path.join(ROOT, "berth.db")):
            return
        # Newest first: a container that joined another's netns (container:NAME) must go before
        # the one it joined.
        for c in reversed(json.loads(berth("ps", "-a", "--format", "json").stdout)):
            berth("rm", "-f", c["name"], check=False)
        berth("network", "prune", check=False)
        stop_berthd()  # started on demand by the first container on a DNS-enabled network

    def assertUnchanged(self, before, what=""):
        after = state_snapshot()
        for key in before:
            self.assertEqual(before[key], after[key], f"{what}: {key} changed")

    def assertFails(self, *args, msg, root=None, timeout=30):
        """Runs berth with `args`; asserts a non-zero exit and `msg` (a string, or a tuple of
        strings that must all appear) in its stderr. Returns the CompletedProcess."""
        p = berth(*args, check=False, root=root, timeout=timeout)
        what = "berth " + " ".join(args)
        self.assertNotEqual(p.returncode, 0, f"{what} succeeded\nstdout: {p.stdout}")
        for m in (msg,) if isinstance(msg, str) else msg:
            self.assertIn(m, p.stderr, f"{what}: unexpected message")
        return p

    def assertBadInput(self, *args, msg):
        """A bad input: non-zero exit, a clear message, and nothing changed."""
        before = state_snapshot()
        p = self.assertFails(*args, msg=msg)
        self.assertUnchanged(before, "berth " + " ".join(args))
        return p


def main():
    unittest.main(verbosity=2)
