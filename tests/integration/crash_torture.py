"""kill -9 at random moments of `run -p`, `rm`, `network create` and CNI ADD/DEL, then count
what a crash leaked. Used by test_crash.py (a few kills per kind, in the suite) and by
bench/crash_torture.py (100 kills per kind, the figure reported in the notes).

Every process runs inside the caller's sandbox; the harness refuses to run elsewhere."""

import json
import os
import random
import re
import subprocess
import time

from harness import (BERTH, ROOT, berth, berth_json, host_links, ip_json, nft_elements,
                     root_files, root_mounts, run)

CNI_DIR = os.environ.get("BERTH_CNI_DIR",
                         os.path.join(os.path.dirname(__file__), "../../build/cni"))
KINDS = ("run-p", "rm", "network-create", "cni-add", "cni-del")
PORT_SETS = ("pub_port_addr", "pub_port_port", "pub_range", "pub_addr_port_addr",
             "pub_addr_port_port", "pub_addr_range")


def cni_conf():
    return {"cniVersion": "1.0.0", "name": "cninet", "type": "berth", "root": ROOT,
            "ipam": {"subnet": "10.123.0.0/24"}}


def cni_proc(command, cid, netns):
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
           "CNI_COMMAND": command, "CNI_CONTAINERID": cid, "CNI_NETNS": netns,
           "CNI_IFNAME": "eth0", "CNI_PATH": CNI_DIR}
    p = subprocess.Popen([os.path.join(CNI_DIR, "berth")], stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    p.stdin.write(json.dumps(cni_conf()).encode())
    p.stdin.close()
    return p


def torture(n, max_delay=0.03, seed=1, reconcile_each=False):
    """n kills per kind. With reconcile_each, `berth system reconcile` runs after every kill and
    the result is {kind: [repairs after each kill]}; otherwise the next commands recover."""
    random.seed(seed)
    berth("network", "create", "web", "--subnet", "10.160.0.0/24")
    found = {k: [] for k in KINDS}

    def kill_at_random(proc, max_delay, kind=None):
        time.sleep(random.uniform(0, max_delay))
        proc.kill()  # SIGKILL, by the PID we started
        proc.wait()
        if reconcile_each and kind:
            out = json.loads(berth("system", "reconcile", "--format", "json").stdout)
            found[kind].append(out["repairs"] + ["error: " + e for e in out["errors"]])

    for i in range(n):
        # run -p: a fresh container publishing a fresh port, killed part-way.
        p = subprocess.Popen([BERTH, "--root", ROOT, "run", "-d", "--name", f"r{i}", "--network",
                              "web", "-p", f"{20000 + i}:80", "--", "sleep", "300"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kill_at_random(p, max_delay, "run-p")
        # rm: of a container that exists (made whole first), killed part-way.
        berth("run", "-d", "--name", f"x{i}", "--network", "web", "-p", f"{30000 + i}:80", "--",
              "sleep", "300")
        p = subprocess.Popen([BERTH, "--root", ROOT, "rm", "-f", f"x{i}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kill_at_random(p, max_delay, "rm")
        # network create
        p = subprocess.Popen([BERTH, "--root", ROOT, "network", "create", f"n{i}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kill_at_random(p, max_delay, "network-create")
        # CNI ADD, then a DEL of an attachment that exists, each killed part-way.
        netns = f"/run/netns/crash{i}"
        run(["ip", "netns", "add", f"crash{i}"])
        kill_at_random(cni_proc("ADD", f"cid{i}", netns), max_delay, "cni-add")
        run(["ip", "netns", "add", f"crashd{i}"])
        add = cni_proc("ADD", f"cidd{i}", f"/run/netns/crashd{i}")
        add.wait()
        kill_at_random(cni_proc("DEL", f"cidd{i}", f"/run/netns/crashd{i}"), max_delay,
                       "cni-del")
    return found


def port_elements():
    """Every published-port element of berth's table ([] when the table is gone)."""
    if run(["nft", "list", "table", "inet", "berth"], check=False).returncode != 0:
        return []
    out = []
    for s in PORT_SETS:
        out += nft_elements(s) or []
    return out


def leaks(n):
    """What is left once every container, attachment and network was removed the normal way
    (rm -f, CNI DEL, network rm): a crash must leave nothing those cannot find."""
    for c in reversed(berth_json("ps", "-a", "--format", "json")):
        if c.get("mode") != "cni":
            berth("rm", "-f", c["name"], check=False)
    env_del = []
    for i in range(n):
        for cid, ns in ((f"cid{i}", f"crash{i}"), (f"cidd{i}", f"crashd{i}")):
            env_del.append(cni_proc("DEL", cid, f"/run/netns/{ns}"))
    for p in env_del:
        p.wait()
    for net in berth_json("network", "ls", "--format", "json"):
        if net["name"] != "bridge":
            berth("network", "rm", net["name"], check=False)
    stuck = [c["name"] for c in berth_json("ps", "-a", "--format", "json")]
    links = host_links()
    addrs = [(a["ifname"], i["local"]) for a in ip_json("addr") for i in a.get("addr_info", [])
             if a["ifname"].startswith(("veth", "br-", "berth"))]
    result = {
        "veths": sorted(l for l in links if re.fullmatch(r"veth[0-9a-f]{11}", l)),
        "bridges": sorted(l for l in links if l.startswith("br-") or l == "berth0"),
        "addresses": addrs,
        "mounts": [m for m in root_mounts() if "/netns/" in m],
        "netns_files": root_files("netns"),
        "container_dirs": root_files("containers"),
        "port_elements": port_elements(),
        "containers_left": stuck,
        "intents": root_files("intents"),
    }
    for i in range(n):
        for ns in (f"crash{i}", f"crashd{i}"):
            run(["ip", "netns", "del", ns], check=False)
    return result
