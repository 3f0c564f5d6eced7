#!/usr/bin/env python3
"""Where berth's attach and detach time goes (issue 6: profile before optimising).

    tests/sandbox.sh /usr/bin/python3 bench/profile_berth.py [--ops 100] [--present 20]

With PRESENT containers already on the network, for `berth run -d -p` (attach) and `berth rm -f`
(detach):
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


def classify(frames):
    for sym, dso in frames:
        for key, cat in DSO_RULES:
            if key in dso:
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


def perf_profile(cmds, label, work):
    data = os.path.join(work, f"{label}.perf")
    script = os.path.join(work, f"{label}.sh")
    with open(script, "w") as f:
        f.write("\n".join(" ".join(c) + " >/dev/null" for c in cmds) + "\n")
    r = subprocess.run(["perf", "record", "-q", "-o", data, "-e", "cpu-clock", "-F", str(FREQ),
                        "-g", "-a", "--", "bash", script], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"perf record: {r.stderr[-500:]}")
    out = subprocess.run(["perf", "script", "-i", data, "-F", "comm,pid,ip,sym,dso"],
                         capture_output=True, text=True).stdout
    buckets, total = collections.Counter(), 0
    frames, comm = [], None
    for line in out.splitlines() + [""]:
        if not line.strip():
            if comm == "berth" and frames:
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
    n = len(cmds)
    return {"ops": n, "samples": total, "cpu_ms_per_op": total / FREQ * 1000 / n,
            "buckets_ms_per_op": {k: v / FREQ * 1000 / n for k, v in buckets.most_common()}}


LINE = re.compile(r"^(\d+)\s+(\d+\.\d+) (\w+)\((.*)$")


def strace_phases(argv, work, label):
    """Wall time of the main process, each gap charged to the syscall that ends it."""
    out = os.path.join(work, f"{label}.strace")
    # -f follows the monitor fork, which lives on: stop tracing (SIGINT detaches) after 3 s.
    p = subprocess.Popen(["strace", "-f", "-ttt", "-T", "-s", "64", "-o", out, *argv],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(3)
    p.send_signal(2)
    p.wait()
    lines = open(out).read().splitlines()
    main = lines[0].split()[0]
    fds = {}  # fd -> kind
    kinds = collections.Counter()
    slow = []
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
            slow.append(f"{call}({first_arg[:60]}) {dur * 1000:.2f} ms [{kind}]")
        prev = t + dur
    kinds.pop("main started", None)
    total = sum(kinds.values())
    return {"traced_ms": total * 1000,
            "shares": {k: v / total for k, v in kinds.most_common()},
            "slow_syscalls": slow}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ops", type=int, default=100)
    ap.add_argument("--present", type=int, default=20)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    bl.assert_sandboxed()
    work = tempfile.mkdtemp(prefix="prof-", dir="/run")
    host = bl.Netns("prof")
    cmd = [bl.BERTH, "--root", os.path.join(work, "root")]
    res = {"machine": bl.machine(), "ops": args.ops, "present": args.present}
    with host.enter():
        bl.sh(*cmd, "network", "create", "bench")
        for i in range(args.present):
            bl.sh(*cmd, "run", "-d", "--name", f"bg{i}", "--network", "bench", "-p",
                  f"{30000 + i}:80", "--", "sleep", "1000000")
        run = lambda i: cmd + ["run", "-d", "--name", f"c{i}", "--network", "bench", "-p",
                               f"{20000 + i}:80", "--", "sleep", "1000000"]
        rm = lambda i: cmd + ["rm", "-f", f"c{i}"]
        # 3. plain wall times
        a, d = [], []
        for i in range(args.ops):
            a.append(bl.timed(run(i))[0])
        for i in range(args.ops):
            d.append(bl.timed(rm(i))[0])
        res["wall_p50_ms"] = {"attach": statistics.median(a), "detach": statistics.median(d)}
        # 1. CPU by bucket
        if bl.have("perf"):
            res["perf_attach"] = perf_profile([run(i) for i in range(args.ops)], "attach", work)
            res["perf_detach"] = perf_profile([rm(i) for i in range(args.ops)], "detach", work)
        # 2. wall phases of one op
        if bl.have("strace"):
            res["strace_attach"] = strace_phases(run(99999), work, "attach")
            res["strace_detach"] = strace_phases(rm(99999), work, "detach")
    host.delete()

    for op in ("attach", "detach"):
        print(f"\n### berth {op} ({'run -d -p' if op == 'attach' else 'rm -f'}), "
              f"{args.present} containers present: wall p50 {res['wall_p50_ms'][op]:.2f} ms\n")
        if f"perf_{op}" in res:
            p = res[f"perf_{op}"]
            print(f"CPU of berth's processes (perf cpu-clock, {p['samples']} samples over "
                  f"{p['ops']} ops): {p['cpu_ms_per_op']:.2f} ms per op\n")
            print(bl.table(["bucket", "CPU ms/op", "share"],
                           [[k, v, f"{v / p['cpu_ms_per_op'] * 100:.0f}%"]
                            for k, v in p["buckets_ms_per_op"].items()]))
        if f"strace_{op}" in res:
            s = res[f"strace_{op}"]
            w = res["wall_p50_ms"][op]
            print(f"\nWall of the main process by phase (strace; {s['traced_ms']:.1f} ms traced, "
                  f"shares scaled to the untraced p50 {w:.2f} ms)\n")
            print(bl.table(["phase", "share", "≈ ms of p50"],
                           [[k, f"{v * 100:.0f}%", v * w] for k, v in s["shares"].items()]))
            print("\nslow syscalls (> 0.5 ms under strace): " + "; ".join(s["slow_syscalls"]))
    path = bl.write_json(bl.results_dir(args.out), "profile_berth.json", res)
    print(f"\nJSON: {path}")


if __name__ == "__main__":
    main()
