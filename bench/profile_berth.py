#!/usr/bin/env python3
"""Where berth's attach and detach time goes (issue 6: profile before optimising).

    tests/sandbox.sh /usr/bin/python3 bench/profile_berth.py [--ops 100] [--present 20,1000]
                                                             [--tools cni,cli]

For berth's CNI plugin (ADD/DEL with one port mapping) and its CLI (`berth run -d -p` /
`berth rm -f`), with PRESENT containers already on the network (each level in turn):
  1. CPU: `perf record -e cpu-clock -g -a` over OPS operations; the samples of berth's
     processes (the CLI and its monitor fork, comm "berth") are put in one bucket each by their
     call stack (SQLite, libnftables, libnl, the dynamic loader, exec, fork, exit, unshare,
     page faults ...), in CPU ms per operation. Needs a working perf (software cpu-clock is
     enough; hardware counters are not needed).
  2. Wall: `strace -f -ttt -T` of one operation; every gap between two syscalls of the main
     process is charged to the later syscall, whose kind comes from its fd (the SQLite files,
     a NETLINK_ROUTE or NETLINK_NETFILTER socket, the pipe from the monitor ...). strace
     inflates syscall-heavy parts, so read it as shares; the slow syscalls (> 0.5 ms) are
     listed as they are: they are waits, not CPU.
  3. Wall without tracers: p50 of OPS plain runs, to scale the shares.
The kernel's own floor is profiled the same way by hand (see bench/RESULTS.md).
Writes bench/results/profile_berth.json and prints the tables.
"""

import argparse
import collections
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

FREQ = 4000

# First match wins, over the whole stack (user frames before kernel ones).
DSO_RULES = [
    ("libsqlite3", "SQLite"),
    ("libnftables", "nftables (libnftables/nftnl/mnl/jansson/gmp)"),
    ("libnftnl", "nftables (libnftables/nftnl/mnl/jansson/gmp)"),
    ("libmnl", "nftables (libnftables/nftnl/mnl/jansson/gmp)"),
    ("libjansson", "nftables (libnftables/nftnl/mnl/jansson/gmp)"),
    ("libxtables", "nftables (libnftables/nftnl/mnl/jansson/gmp)"),
    ("libnl-", "rtnetlink through libnl"),
    ("ld-linux", "dynamic loader (relocations, symbol lookup)"),
]
SYM_RULES = [
    (r"^_dl_|dl_main|dl_relocate", "dynamic loader (relocations, symbol lookup)"),
    (r"sys_execve|bprm_|load_elf_binary", "execve (kernel)"),
    (r"sys_exit_group|do_exit|exit_mmap|mmput", "process exit (address space teardown)"),
    (r"sys_clone|kernel_clone|copy_process|dup_mm", "fork/clone"),
    (r"sys_unshare|copy_net_ns|setup_net", "unshare: new netns/mount ns"),
    (r"sys_setns", "setns"),
    (r"sys_mount|sys_umount|path_umount|do_mount|move_mount|sys_open_tree", "mount/umount"),
    (r"netlink_sendmsg|netlink_rcv|rtnetlink_rcv|nfnetlink_rcv|netlink_recvmsg|netlink_dump",
     "netlink in the kernel (other)"),
    (r"sys_kill|do_send_sig|sys_pidfd", "signals"),
    (r"sys_wait4|do_wait", "wait"),
    (r"exc_page_fault|handle_mm_fault", "page faults (other)"),
    (r"sys_openat|sys_newfstatat|sys_statx|path_openat|sys_read|sys_write|sys_pread|sys_pwrite|"
     r"sys_unlink|sys_rename|sys_mkdir|sys_ftruncate|sys_fcntl|sys_fdatasync",
     "files (other)"),
]


# berth-cni links SQLite, libnl and libstdc++ statically: recognise them by symbol too.
STATIC_RULES = [
    (r"^sqlite3", "SQLite"),
    (r"^(rtnl_|nl_|nla_|nlmsg_|__nl_|genl_)", "rtnetlink through libnl"),
    (r"^(nft_|nftnl_|mnl_|json_|netlink_|cache_|do_command|__gmp)", "nftables (libnftables/nftnl/mnl/jansson/gmp)"),
]


def classify(frames):
    for sym, dso in frames:
        for key, cat in DSO_RULES:
            if key in dso:
                return cat
        if "berth" in os.path.basename(dso):
            for pat, cat in STATIC_RULES:
                if re.search(pat, sym):
                    return cat
    for sym, dso in frames:
        for pat, cat in SYM_RULES:
            if re.search(pat, sym):
                return cat
    leaf_sym, leaf_dso = frames[0] if frames else ("?", "?")
    if "berth" in os.path.basename(leaf_dso):
        return "berth's own code"
    if "libstdc++" in leaf_dso or "libc.so" in leaf_dso or "libm.so" in leaf_dso:
        return "libc/libstdc++ (other)"
    if "kernel" in leaf_dso:
        return "kernel (other)"
    return "other"


RUNNER = """import json, subprocess, sys
for argv, inp, env in json.load(open(sys.argv[1])):
    r = subprocess.run(argv, input=inp.encode() if inp else None, env=env, capture_output=True)
    if r.returncode:
        sys.exit(f"{argv}: {r.stderr.decode()} {r.stdout.decode()}")
"""


def perf_profile(argvs, label, work, comms=("berth",)):
    """CPU samples of the processes named `comms` among those the runner starts (perf follows
    forks of the recorded command only, so other users' berth processes are not counted)."""
    data = os.path.join(work, f"{label}.perf")
    spec = os.path.join(work, f"{label}.json")
    with open(spec, "w") as f:
        json.dump([[a, i.decode() if i else None, e] for a, i, e in argvs], f)
    r = subprocess.run(["perf", "record", "-q", "-o", data, "-e", "cpu-clock", "-F", str(FREQ),
                        "-g", "--", sys.executable, "-c", RUNNER, spec],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"perf record: {r.stderr[-800:]}")
    out = subprocess.run(["perf", "script", "-i", data, "-F", "comm,pid,ip,sym,dso"],
                         capture_output=True, text=True).stdout
    buckets, total = collections.Counter(), 0
    frames, comm = [], None
    for line in out.splitlines() + [""]:
        if not line.strip():
            if comm in comms and frames:
                buckets[classify(frames)] += 1
                total += 1
            frames, comm = [], None
            continue
        if not line.startswith((" ", "\t")):
            comm = line.split()[0]
            continue
        m = re.match(r"\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$", line)
        if m:
            frames.append((re.sub(r"\+0x[0-9a-f]+$", "", m.group(1)), m.group(2)))
    os.unlink(data)
    n = len(argvs)
    return {"ops": n, "samples": total, "cpu_ms_per_op": total / FREQ * 1000 / n,
            "buckets_ms_per_op": {k: v / FREQ * 1000 / n for k, v in buckets.most_common()}}


LINE = re.compile(r"^(\d+)\s+(\d+\.\d+) (\w+)\((.*)$")


def strace_phases(argv, work, label, input=None, env=None):
    """Wall time of the main process, each gap charged to the syscall that ends it."""
    out = os.path.join(work, f"{label}.strace")
    # Only the main process (no -f: the CLI's monitor fork lives on with the container); the
    # time spent waiting for the monitor shows as the read on its pipe.
    subprocess.run(["strace", "-ttt", "-T", "-s", "64", "-o", out, *argv], input=input, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    lines = open(out).read().splitlines()
    lines = [f"1 {ln}" for ln in lines]  # one process: give every line the same pid
    main = "1"
    fds = {}  # fd -> kind
    kinds = collections.Counter()
    slow = []
    waits = collections.Counter()  # slow syscalls: waits, which strace does not inflate
    prev = None
    for ln in lines:
        m = LINE.match(ln)
        if not m or m.group(1) != main:
            continue
        t, call, rest = float(m.group(2)), m.group(3), m.group(4)
        dur = re.search(r"<(\d+\.\d+)>$", rest)
        dur = float(dur.group(1)) if dur else 0.0
        ret = re.search(r"= (-?\d+)", rest)
        ret = int(ret.group(1)) if ret else -1
        first_arg = rest.split(",")[0]
        if call == "openat" and ret >= 0:
            path = re.search(r'"([^"]*)"', rest).group(1)
            fds[ret] = ("SQLite" if "berth.db" in path else "loader" if ".so" in path else
                        "files")
        elif call == "socket" and ret >= 0:
            fds[ret] = "netlink route (libnl)" if "NETLINK_ROUTE" in rest else \
                "nftables (nfnetlink)" if "NETLINK_NETFILTER" in rest else "socket"
        elif call == "pipe2":
            for fd in re.findall(r"\[(\d+), (\d+)\]", rest)[:1]:
                fds[int(fd[0])] = fds[int(fd[1])] = "waiting for the monitor/container"
        if call in ("execve", "brk", "arch_prctl", "mmap", "mprotect", "access", "set_tid_address",
                    "set_robust_list", "rseq", "prlimit64") and not kinds.get("main started"):
            kind = "exec + dynamic loading"
        elif call in ("unshare", "setns", "mount", "umount2"):
            kind = f"netns/mount ({call})"
        elif call in ("clone", "clone3", "fork", "vfork", "wait4", "kill", "pidfd_open",
                      "pidfd_send_signal"):
            kind = f"process ({call})"
        elif call in ("exit_group",):
            kind = "exit"
        else:
            fd = re.match(r"(\d+)", first_arg)
            kind = fds.get(int(fd.group(1)), "files") if fd else "other"
            if kind == "loader":
                kind = "exec + dynamic loading"
        if call in ("mkdir",) and not kinds.get("main started"):
            kinds["main started"] = 0
        gap = 0 if prev is None else t - prev
        kinds[kind] += gap + dur
        if dur > 0.0005:
            waits[kind] += dur
            slow.append(f"{call}({first_arg[:60]}) {dur * 1000:.2f} ms [{kind}]")
        prev = t + dur
    kinds.pop("main started", None)
    total = sum(kinds.values())
    return {"traced_ms": total * 1000,
            "phase_ms": {k: v * 1000 for k, v in kinds.most_common()},
            "wait_ms": {k: v * 1000 for k, v in waits.items()},
            "slow_syscalls": slow}


class CliOps:
    """`berth run -d -p` / `berth rm -f`."""
    label = "berth CLI (run -d -p / rm -f)"

    def __init__(self, work):
        self.cmd = [bl.BERTH, "--root", os.path.join(work, "root-cli")]
        bl.sh(*self.cmd, "network", "create", "bench")

    def add_argv(self, i):
        return self.cmd + ["run", "-d", "--name", f"ctr{i}", "--network", "bench", "-p",
                           f"{20000 + i % 40000}:80", "--", "sleep", "1000000"], None, None

    def del_argv(self, i):
        return self.cmd + ["rm", "-f", f"ctr{i}"], None, None

    def before_add(self, i):
        pass

    def after_del(self, i):
        pass


class CniOps:
    """berth's CNI plugin, ADD / DEL with one port mapping (netns made outside the timing)."""
    label = "berth CNI plugin (ADD / DEL, 1 port)"

    def __init__(self, work):
        self.work = work
        self.conf = {"cniVersion": "1.0.0", "name": "bench", "type": "berth",
                     "root": os.path.join(work, "root-cni"), "ipMasq": True,
                     "ipam": {"subnet": "172.30.0.0/16"}, "capabilities": {"portMappings": True}}
        self.plugin = os.path.join(bl.BUILD, "cni", "berth")

    def _io(self, cmd, i):
        conf = dict(self.conf, runtimeConfig={"portMappings": [
            {"hostPort": 20000 + i % 40000, "containerPort": 80, "protocol": "tcp"}]})
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "CNI_COMMAND": cmd,
               "CNI_CONTAINERID": f"prof{i:08d}", "CNI_NETNS": f"/run/netns/pc{i}",
               "CNI_IFNAME": "eth0", "CNI_PATH": os.path.dirname(self.plugin)}
        return [self.plugin], json.dumps(conf).encode(), env

    def add_argv(self, i):
        return self._io("ADD", i)

    def del_argv(self, i):
        return self._io("DEL", i)

    def before_add(self, i):
        bl.add_netns(f"pc{i}")

    def after_del(self, i):
        bl.del_netns(f"pc{i}")


def run_ops(ops, argv_fn, idx, before=None, after=None):
    def go():
        for i in idx:
            if before:
                before(i)
            argv, inp, env = argv_fn(i)
            bl.timed(argv, input=inp, env=env)
            if after:
                after(i)
    return go


def profile_level(ops, present, n_ops, work, res):
    """Fills up to `present` containers (untimed), then profiles n_ops attaches and detaches."""
    have = res.setdefault("_present", {}).get(ops.label, 0)
    for i in range(have, present):
        ops.before_add(100000 + i)
        argv, inp, env = ops.add_argv(100000 + i)
        bl.timed(argv, input=inp, env=env)
    res["_present"][ops.label] = present
    idx = range(n_ops)
    out = {}
    # untimed-by-tracers wall times first
    a, d = [], []
    for i in idx:
        ops.before_add(i)
        argv, inp, env = ops.add_argv(i)
        a.append(bl.timed(argv, input=inp, env=env)[0])
    for i in idx:
        argv, inp, env = ops.del_argv(i)
        d.append(bl.timed(argv, input=inp, env=env)[0])
        ops.after_del(i)
    out["wall_p50_ms"] = {"attach": statistics.median(a), "detach": statistics.median(d)}
    if bl.have("perf"):
        for i in idx:
            ops.before_add(i)
        out["perf_attach"] = perf_profile([ops.add_argv(i) for i in idx], "a", work)
        out["perf_detach"] = perf_profile([ops.del_argv(i) for i in idx], "d", work)
        for i in idx:
            ops.after_del(i)
    if bl.have("strace"):
        ops.before_add(99999)
        argv, inp, env = ops.add_argv(99999)
        out["strace_attach"] = strace_phases(argv, work, "attach", inp, env)
        argv, inp, env = ops.del_argv(99999)
        out["strace_detach"] = strace_phases(argv, work, "detach", inp, env)
        ops.after_del(99999)
    return out


def print_level(label, present, r):
    for op in ("attach", "detach"):
        w = r["wall_p50_ms"][op]
        print(f"\n### {label}: {op}, {present} containers present, wall p50 {w:.2f} ms\n")
        if f"perf_{op}" in r:
            p = r[f"perf_{op}"]
            print(f"CPU of berth's processes (perf record -g of the harness's children, cpu-clock, {p['samples']} samples over "
                  f"{p['ops']} ops): {p['cpu_ms_per_op']:.2f} ms per op\n")
            print(bl.table(["bucket", "CPU ms/op", "share"],
                           [[k, v, f"{v / p['cpu_ms_per_op'] * 100:.0f}%"]
                            for k, v in p["buckets_ms_per_op"].items()]))
        if f"strace_{op}" in r:
            s = r[f"strace_{op}"]
            # strace slows every syscall down but not the waits inside slow ones: scale the rest.
            wait = sum(s["wait_ms"].values())
            k = max(0.0, w - wait) / max(1e-9, s["traced_ms"] - wait)
            print(f"\nWall of the main process by phase (strace: {s['traced_ms']:.1f} ms traced, "
                  f"{wait:.1f} ms of it in slow syscalls; estimate = waits + the rest scaled by "
                  f"{k:.2f} to the untraced p50)\n")
            print(bl.table(["phase", "traced ms", "estimate ms"],
                           [[p, v, s["wait_ms"].get(p, 0) + (v - s["wait_ms"].get(p, 0)) * k]
                            for p, v in s["phase_ms"].items()]))
            print("\nslow syscalls (> 0.5 ms under strace): " + "; ".join(s["slow_syscalls"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ops", type=int, default=100)
    ap.add_argument("--present", default="20,1000")
    ap.add_argument("--tools", default="cni,cli")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    bl.assert_sandboxed()
    work = tempfile.mkdtemp(prefix="prof-", dir="/run")
    res = {"machine": bl.machine(), "ops": args.ops}
    kinds = {"cli": CliOps, "cni": CniOps}
    for tool in args.tools.split(","):
        host = bl.Netns(f"prof-{tool}")
        with host.enter():
            ops = kinds[tool](work)
            for present in [int(x) for x in args.present.split(",")]:
                r = profile_level(ops, present, args.ops, work, res)
                res[f"{tool}@{present}"] = r
                print_level(ops.label, present, r)
    res.pop("_present", None)
    path = bl.write_json(bl.results_dir(args.out), "profile_berth.json", res)
    print(f"\nJSON: {path}")


if __name__ == "__main__":
    main()
