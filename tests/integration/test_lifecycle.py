"""A container's life: run in the foreground (exit codes pass through) or detached, --rm,
rm [-f], exec, ps, and what a failed start leaves behind (nothing)."""

import json
import os
import signal
import subprocess
import time

from harness import (BERTH, ROOT, BerthTest, berth, berth_json, host_links, in_container, main,
                     process_gone, ps, read, root_files, root_mounts, run, state_snapshot,
                     wait_until)


class ForegroundTest(BerthTest):
    def test_exit_code_passes_through(self):
        berth("network", "create", "web")
        for code in (0, 1, 7, 42, 255):
            p = berth("run", "--network", "web", "--", "sh", "-c", f"exit {code}", check=False)
            self.assertEqual(p.returncode, code, p.stderr)
        ps_all = berth_json("ps", "-a", "--format", "json")
        self.assertEqual(sorted(c["exit_code"] for c in ps_all), [0, 1, 7, 42, 255])
        self.assertTrue(all(c["state"] == "exited" for c in ps_all))

    def test_killed_by_a_signal_gives_128_plus_n(self):
        # --init: as PID 1 of its PID namespace the shell could not signal itself (the kernel
        # ignores it, as with Docker); under an init it is PID 2.
        for sig, code in (("KILL", 137), ("TERM", 143), ("SEGV", 139)):
            p = berth("run", "--init", "--network", "none", "--", "sh", "-c", f"kill -{sig} $$",
                      check=False)
            self.assertEqual(p.returncode, code, p.stderr)

    def test_sigterm_to_berth_reaches_the_container(self):
        berth("network", "create", "web")
        # --init: a PID 1 `sleep` would ignore SIGTERM (docker run behaves the same).
        p = subprocess.Popen([BERTH, "--root", ROOT, "run", "--init", "--rm", "--name", "f",
                              "--network", "web", "--", "sleep", "300"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        self.assertTrue(wait_until(lambda: ps() == ["f"]))
        pid = berth_json("inspect", "f")["pid"]
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 143, err)
        self.assertTrue(process_gone(pid))
        self.assertEqual(ps(all=True), [])  # and --rm was honoured

    def test_output_and_input_pass_through(self):
        p = run([BERTH, "--root", ROOT, "run", "--rm", "-i",
                 "--network", "none", "--", "sh", "-c", "read x; echo got-$x; echo err >&2"],
                input="hello\n")
        self.assertEqual(p.stdout, "got-hello\n")
        self.assertEqual(p.stderr, "err\n")

    def test_foreground_output_is_shown_and_logged(self):
        # Docker's: `logs` shows what an attached run printed, stdout and stderr apart on ours.
        p = berth("run", "--name", "f", "--network", "none", "--", "sh", "-c",
                  "echo out; echo err >&2; exit 3", check=False)
        self.assertEqual((p.returncode, p.stdout, p.stderr), (3, "out\n", "err\n"))
        self.assertEqual(sorted(berth("logs", "f").stdout.splitlines()), ["err", "out"])
        berth("start", "-a", "f", check=False)  # each start adds to it, as Docker's
        self.assertEqual(len(berth("logs", "f").stdout.splitlines()), 4)
        # A reader of ours that goes away (`| head -1`) neither kills the container nor stops
        # its log.
        out = run(["bash", "-c", f"{BERTH} --root {ROOT} run --name h --network none -- sh -c "
                   "'echo a; sleep 0.3; echo b; echo done' | head -1"]).stdout
        self.assertEqual(out, "a\n")
        self.assertEqual(berth("wait", "h").stdout.strip(), "0")
        self.assertEqual(berth("logs", "h").stdout, "a\nb\ndone\n")

    def test_stdin_reaches_the_container_only_with_i(self):
        # Docker's: without -i the container's stdin is /dev/null, not berth's pipe or terminal.
        def cat(*flags):
            return run([BERTH, "--root", ROOT, "run", "--rm", *flags, "--network", "none", "--",
                        "cat"], input="hi\n").stdout
        self.assertEqual(cat(), "")
        self.assertEqual(cat("-i"), "hi\n")
        self.assertEqual(run(["bash", "-c", f"echo hi | {BERTH} --root {ROOT} run --rm "
                              "--network none -- cat"]).stdout, "")
        berth("run", "-d", "--name", "s", "--network", "none", "--", "sleep", "300")
        exec_cat = lambda *flags: run([BERTH, "--root", ROOT, "exec", *flags, "s", "cat"],
                                      input="hi\n").stdout
        self.assertEqual(exec_cat(), "")
        self.assertEqual(exec_cat("-i"), "hi\n")

    def test_rm_releases_everything_after_exit(self):
        berth("network", "create", "web")
        before = state_snapshot()
        out = berth("run", "--rm", "--name", "r", "--network", "web", "--", "sh", "-c",
                    "ip -j addr show eth0").stdout
        self.assertEqual(json.loads(out)[0]["addr_info"][0]["local"], "172.18.0.2")
        self.assertUnchanged(before, "run --rm")
        self.assertEqual(berth_json("network", "inspect", "web")["containers"], [])
        # Its exit code still passes through.
        p = berth("run", "--rm", "--network", "web", "--", "sh", "-c", "exit 3", check=False)
        self.assertEqual(p.returncode, 3)
        self.assertUnchanged(before, "run --rm with exit 3")


class DetachedTest(BerthTest):
    def test_prints_the_name_and_returns_while_it_runs(self):
        t = time.monotonic()
        p = berth("run", "-d", "--name", "d", "--", "sleep", "300", timeout=10)
        self.assertLess(time.monotonic() - t, 5)
        self.assertEqual(p.stdout, "d\n")
        c = berth_json("inspect", "d")
        self.assertTrue(c["running"])
        self.assertEqual(c["state"], "running")
        self.assertFalse(process_gone(c["pid"]))
        self.assertEqual(read(f"/proc/{c['pid']}/cmdline").split("\0")[:2], ["sleep", "300"])
        # Without --name, the generated name is printed.
        name = berth("run", "-d", "--", "sleep", "300").stdout.strip()
        self.assertRegex(name, r"^[a-z]+_[a-z]+$")
        self.assertEqual(berth_json("inspect", name)["name"], name)
        self.assertEqual(ps(), sorted(["d", name]))

    def test_exit_is_recorded(self):
        berth("run", "-d", "--name", "d", "--", "sh", "-c", "exit 9")
        self.assertTrue(wait_until(lambda: berth_json("inspect", "d")["exit_code"] is not None))
        c = berth_json("inspect", "d")
        self.assertEqual(c["exit_code"], 9)
        self.assertEqual(c["state"], "exited")
        self.assertIn("exited (9)", berth("ps", "-a").stdout)
        # Recorded for good: still there once every berth process is gone.
        time.sleep(0.2)
        self.assertEqual(berth_json("inspect", "d")["exit_code"], 9)
        self.assertFalse(c["running"])
        self.assertIsNone(c["pid"])

    def test_output_goes_to_the_log(self):
        berth("run", "-d", "--name", "d", "--network", "none", "--", "sh", "-c",
              "echo to-the-log; echo err-too >&2")
        c = berth_json("inspect", "d")
        log = os.path.join(ROOT, "containers", c["id"], "log")
        self.assertTrue(wait_until(lambda: "err-too" in read(log)))
        self.assertIn("to-the-log", read(log))

    def test_rm_d_releases_everything_after_exit(self):
        berth("network", "create", "web")
        before = state_snapshot()
        berth("run", "--rm", "-d", "--name", "r", "--network", "web", "--", "sleep", "1")
        c = berth_json("inspect", "r")
        self.assertTrue(c["running"])
        self.assertIn(c["networks"]["web"]["host_veth"], host_links())
        self.assertTrue(wait_until(lambda: ps(all=True) == [], timeout=15))
        self.assertTrue(process_gone(c["pid"]))
        self.assertUnchanged(before, "run --rm -d")
        # The address is free again: the next container may take it.
        berth("run", "-d", "--name", "s", "--network", "web", "--ip", c["networks"]["web"]["ip"],
              "--", "sleep", "300")


class RemoveTest(BerthTest):
    def test_rm_of_a_running_container_needs_force(self):
        berth("network", "create", "web")
        berth("run", "-d", "--name", "a", "--network", "web", "--", "sleep", "300")
        pid = berth_json("inspect", "a")["pid"]
        p = self.assertBadInput("rm", "a", msg="container a is running")
        self.assertIn("rm -f", p.stderr)
        self.assertFalse(process_gone(pid))
        before = state_snapshot()
        self.assertEqual(berth("rm", "-f", "a").stdout, "a\n")
        self.assertTrue(wait_until(lambda: process_gone(pid)))
        self.assertEqual(ps(all=True), [])
        after = state_snapshot()
        self.assertEqual(len(after["links"]), len(before["links"]) - 1)  # the veth

    def test_rm_of_an_exited_container_needs_no_force(self):
        berth("run", "--name", "a", "--network", "none", "--", "true")
        self.assertEqual(ps(all=True), ["a"])
        berth("rm", "a")
        self.assertEqual(ps(all=True), [])

    def test_rm_f_of_a_process_that_ignores_sigterm(self):
        berth("run", "-d", "--name", "a", "--network", "none", "--", "sh", "-c",
              "trap '' TERM; while :; do sleep 1; done")
        pid = berth_json("inspect", "a")["pid"]
        t = time.monotonic()
        berth("rm", "-f", "a")
        self.assertLess(time.monotonic() - t, 5)
        self.assertTrue(process_gone(pid))


class ExecTest(BerthTest):
    def setUp(self):
        super().setUp()
        berth("network", "create", "web")
        berth("run", "-d", "--name", "a", "--hostname", "alpha", "--network", "web", "--",
              "sleep", "300")

    def test_exit_code_passes_through(self):
        for code in (0, 5, 130):
            p = in_container("a", "sh", "-c", f"exit {code}", check=False)
            self.assertEqual(p.returncode, code)

    def test_missing_command_gives_127(self):
        p = in_container("a", "no-such-command-xyz", check=False)
        self.assertEqual(p.returncode, 127)
        self.assertIn("no-such-command-xyz", p.stderr)

    def test_stopped_container_fails_clearly(self):
        berth("run", "--name", "stopped", "--network", "web", "--", "true")
        p = self.assertBadInput("exec", "stopped", "--", "true", msg="container stopped is not running")
        self.assertEqual(p.returncode, 125)

    def test_sees_the_containers_files_while_nsenter_sees_the_hosts(self):
        c = berth_json("inspect", "a")
        ip = c["networks"]["web"]["ip"]
        hosts = in_container("a", "cat", "/etc/hosts").stdout
        self.assertIn(f"{ip}\talpha a", hosts)
        self.assertEqual(hosts, read(os.path.join(ROOT, "containers", c["id"], "hosts")))
        self.assertEqual(in_container("a", "cat", "/etc/resolv.conf").stdout,
                         read(os.path.join(ROOT, "containers", c["id"], "resolv.conf")))
        self.assertEqual(in_container("a", "hostname").stdout.strip(), "alpha")
        # A bare `nsenter --net` enters the network namespace only (seed 004): the addresses
        # are the container's, the files are the host's.
        path = c["netns"]["path"]
        out = run(["nsenter", f"--net={path}", "ip", "-j", "addr", "show", "eth0"]).stdout
        self.assertEqual(json.loads(out)[0]["addr_info"][0]["local"], ip)
        self.assertEqual(run(["nsenter", f"--net={path}", "cat", "/etc/hosts"]).stdout,
                         read("/etc/hosts"))
        self.assertEqual(run(["nsenter", f"--net={path}", "cat", "/etc/resolv.conf"]).stdout,
                         read("/etc/resolv.conf"))
        self.assertNotIn(ip, read("/etc/hosts"))

    def test_unknown_container(self):
        self.assertBadInput("exec", "nosuch", "--", "true", msg="no such container: nosuch")


class FailedStartTest(BerthTest):
    """`run` of a command that does not exist: 127, and nothing is left."""

    def check_nothing_left(self, *args):
        before = state_snapshot()
        p = berth("run", *args, "--", "no-such-command-xyz", "arg", check=False)
        self.assertEqual(p.returncode, 127, p.stderr)
        self.assertIn('exec "no-such-command-xyz"', p.stderr)
        self.assertUnchanged(before, "run " + " ".join(args))
        return p

    def test_on_a_user_network(self):
        berth("network", "create", "web")
        self.check_nothing_left("--network", "web")
        self.check_nothing_left("-d", "--network", "web")
        self.check_nothing_left("--rm", "--name", "x", "--network", "web")
        self.check_nothing_left("--network", "web", "--ip", "172.18.0.9")
        # The addresses the failed runs took are free again, in order.
        berth("run", "-d", "--name", "ok", "--network", "web", "--", "sleep", "300")
        self.assertEqual(berth_json("inspect", "ok")["networks"]["web"]["ip"], "172.18.0.2")

    def test_on_the_default_network_first_use(self):
        # The default bridge is made on first use: a first use that fails takes it away again.
        self.check_nothing_left()
        self.assertNotIn("berth0", host_links())
        self.check_nothing_left("-d")
        self.assertNotIn("berth0", host_links())
        berth("run", "-d", "--name", "ok", "--", "sleep", "300")
        self.assertIn("berth0", host_links())
        self.check_nothing_left()  # ... but never a bridge that was there before
        self.assertIn("berth0", host_links())

    def test_in_other_modes(self):
        self.check_nothing_left("--network", "none")
        self.check_nothing_left("--network", "host")
        self.check_nothing_left("-d", "--network", "none")
        berth("run", "-d", "--name", "base", "--network", "none", "--", "sleep", "300")
        self.check_nothing_left("--network", "container:base")

    def test_command_that_cannot_run_gives_126(self):
        before = state_snapshot()
        p = berth("run", "--network", "none", "--", "/etc/hostname", check=False)
        self.assertEqual(p.returncode, 126, p.stderr)
        self.assertUnchanged(before, "run of a non-executable")


class PsTest(BerthTest):
    def test_ps_lists_running_and_ps_a_all(self):
        berth("run", "-d", "--name", "up", "--network", "none", "--", "sleep", "300")
        berth("run", "--name", "done", "--network", "none", "--", "true")
        self.assertEqual(ps(), ["up"])
        self.assertEqual(ps(all=True), ["done", "up"])
        table = berth("ps").stdout
        self.assertIn("up", table)
        self.assertNotIn("done", table)
        table = berth("ps", "-a").stdout
        self.assertIn("done", table)
        self.assertIn("exited (0)", table)
        # A container whose process died outside berth shows as exited.
        pid = berth_json("inspect", "up")["pid"]
        os.kill(pid, 9)
        self.assertTrue(wait_until(lambda: ps() == []))
        self.assertEqual(ps(all=True), ["done", "up"])


if __name__ == "__main__":
    main()
