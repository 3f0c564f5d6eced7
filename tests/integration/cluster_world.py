"""Simulated hosts for multi-host tests and benchmarks (issue 12): each host a network
namespace with its own state root and berthd, on L2 segments joined by a router, with a real
etcd (Debian's etcd-server). Shared by tests/integration/test_cluster*.py and bench/cluster_*.py.

A host at 198.18.S.x sits on segment S (bridge brS in netns `sw`); the router `rt` holds
198.18.S.253 on every segment and etcd is 198.18.0.254, so hosts on one segment are one L2
hop apart (host-gw) and hosts on different segments are routed (vxlan). Each host's berth runs
with `nsenter --net=` (never `ip netns exec`: that would leave the mount namespace where
berth's netns bind mounts live)."""

import json
import os
import shutil
import signal
import subprocess
import tempfile

from harness import BERTH, run, wait_until, _gone

ETCD_IP = "198.18.0.254"
ETCD = f"http://{ETCD_IP}:2379"
CIDR = "10.244.0.0/16"
ETCDCTL_ENV = {**os.environ, "ETCDCTL_API": "3"}


def root_of(host):
    return f"/run/berth-cluster-{host}"


def at(host, *argv, check=True, timeout=30):
    """Runs argv on simulated host `host` (its network namespace, the sandbox's mounts)."""
    return run(["nsenter", f"--net=/run/netns/{host}", *argv], check=check, timeout=timeout)


def b(host, *args, check=True, timeout=30):
    return at(host, BERTH, "--root", root_of(host), *args, check=check, timeout=timeout)


def bj(host, *args):
    return json.loads(b(host, *args).stdout)


def etcdctl(*args, check=True):
    return run(["ip", "netns", "exec", "etcd", "etcdctl", f"--endpoints={ETCD}", *args],
               check=check, env=ETCDCTL_ENV)


def routes(host):
    out = at(host, "ip", "-j", "route", "show", "proto", "190").stdout.strip()
    return {r["dst"]: r for r in json.loads(out)} if out else {}


def links(host):
    return {l["ifname"] for l in json.loads(at(host, "ip", "-j", "link").stdout)}


def berthd_pid(host):
    try:
        with open(os.path.join(root_of(host), "berthd.pid")) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return None
    return None if _gone(pid) else pid


def berthd_log(host):
    try:
        with open(os.path.join(root_of(host), "berthd.log")) as f:
            return f.read()[-3000:]
    except OSError as e:
        return str(e)


def status(host):
    return json.loads(at(host, "curl", "-s", "--unix-socket",
                         os.path.join(root_of(host), "berthd.sock"),
                         "http://x/v1/status").stdout)


def cip(host, name):
    return bj(host, "inspect", name)["networks"]["cluster"]["ip"]


def segment(ip):
    return int(ip.split(".")[2])


class World:
    """hosts: name -> underlay IPv4 in 198.18.S.0/24 (S < 253). Extra bare hosts (no berth,
    e.g. a benchmark's anchors) can be plugged in with add_host."""

    def __init__(self, hosts):
        self.hosts = dict(hosts)
        self.etcd = None
        self.segments = set()
        self.data = tempfile.mkdtemp(prefix="berth-etcd-")
        self.namespaces = ["sw", "rt", "etcd"]
        for ns in self.namespaces:
            self.netns(ns)
        run(["ip", "netns", "exec", "rt", "sysctl", "-qw", "net.ipv4.ip_forward=1"])
        self.plug("etcd", "eth0", ETCD_IP)
        for host, ip in self.hosts.items():
            self.add_host(host, ip)
        self.start_etcd()

    def netns(self, ns):
        run(["ip", "netns", "del", ns], check=False)
        run(["ip", "netns", "add", ns])
        run(["ip", "-n", ns, "link", "set", "lo", "up"])

    def add_host(self, ns, ip):
        if ns not in self.namespaces:
            self.netns(ns)
            self.namespaces.append(ns)
        self.plug(ns, "eth0", ip)

    def add_segment(self, s):
        if s in self.segments:
            return
        self.segments.add(s)
        run(["ip", "-n", "sw", "link", "add", f"br{s}", "type", "bridge"])
        run(["ip", "-n", "sw", "link", "set", f"br{s}", "up"])
        self.plug("rt", f"eth{s}", f"198.18.{s}.253", gw=False)

    def plug(self, ns, ifname, ip, gw=True):
        s = segment(ip)
        self.add_segment(s)
        port = f"{ns}-{ifname}"[:15]
        run(["ip", "-n", "sw", "link", "add", port, "type", "veth", "peer", "name", ifname,
             "netns", ns])
        run(["ip", "-n", "sw", "link", "set", port, "master", f"br{s}", "up"])
        run(["ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", ifname])
        run(["ip", "-n", ns, "link", "set", ifname, "up"])
        if gw:
            run(["ip", "-n", ns, "route", "add", "default", "via", f"198.18.{s}.253"])

    def start_etcd(self):
        self.etcd_log = open(os.path.join(self.data, "log"), "a")
        self.etcd = subprocess.Popen(
            ["ip", "netns", "exec", "etcd", "/usr/bin/etcd", "--name", "t",
             "--data-dir", os.path.join(self.data, "data"),
             "--listen-client-urls", ETCD, "--advertise-client-urls", ETCD,
             "--listen-peer-urls", "http://127.0.0.1:2380",
             "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
             "--initial-cluster", "t=http://127.0.0.1:2380"],
            stdout=self.etcd_log, stderr=subprocess.STDOUT)
        assert wait_until(lambda: etcdctl("endpoint", "health", check=False).returncode == 0,
                          timeout=20), "etcd did not start"

    def stop_etcd(self):
        if self.etcd:
            self.etcd.send_signal(signal.SIGTERM)
            self.etcd.wait(timeout=10)
            self.etcd = None
            self.etcd_log.close()

    def close(self):
        for host in self.hosts:
            pid = berthd_pid(host)
            if pid:
                os.kill(pid, signal.SIGKILL)
        self.stop_etcd()
        for ns in self.namespaces:
            run(["ip", "netns", "del", ns], check=False)
        shutil.rmtree(self.data, ignore_errors=True)
