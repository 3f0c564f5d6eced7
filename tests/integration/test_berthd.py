"""berthd hardened (issue 11 item 9) and its API module (issue 10 item 6): a slow TCP sender
from the LAN (or from a container) cannot starve containers' TCP queries; berthd killed with
-9 comes back with the next command that relies on it, taking over its stale pid file; the API
serves one client while another stalls; berthd's flags (CLI11)."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

from harness import (BERTH, ROOT, BerthTest, berth, berth_json, berthd_pid, in_container, main, read,
                     run, start_background, wait_until, wire_namespace)

BERTHD = os.path.join(os.path.dirname(os.environ.get("BERTH_BIN", "")) or
                      os.path.join(os.path.dirname(__file__), "../../build"), "berthd")
SOCK = os.path.join(ROOT, "berthd.sock")
PID_FILE = os.path.join(ROOT, "berthd.pid")

# Opens N TCP connections to HOST:53 and sends one byte on each every INTERVAL seconds for
# SECONDS; prints "connected" once they are open, then one JSON line: for each connection, the
# seconds after the start at which the server closed it (null: still open at the end).
SLOWLORIS = r"""
import json, select, socket, sys, time
host, n, interval, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
start = time.monotonic()
socks, closed = [], {}
for i in range(n):
    s = socket.socket()
    s.settimeout(1)
    try:
        s.connect((host, 53))
        s.setblocking(False)
        socks.append(s)
    except OSError:
        closed[i] = 0.0
print("connected", flush=True)
last_send = 0.0
while time.monotonic() - start < seconds:
    now = time.monotonic() - start
    if now - last_send >= interval:
        last_send = now
        for s in socks:
            if s.fileno() not in closed:
                try:
                    s.send(b"\1")
                except OSError:
                    closed[s.fileno()] = now
    ready, _, _ = select.select([s for s in socks if s.fileno() not in closed], [], [], 0.05)
    for s in ready:
        try:
            data = s.recv(100)
        except OSError:
            data = b""
        if not data:
            closed[s.fileno()] = round(time.monotonic() - start, 2)
print(json.dumps([closed.get(s.fileno()) for s in socks] + [0.0] * (n - len(socks))), flush=True)
"""


def sleeper(name, network, *extra):
    berth("run", "-d", "--name", name, "--network", network, *extra, "--", "sleep", "600")


def ip_of(container, network):
    return berth_json("inspect", container)["networks"][network]["ip"]


def gateway(network):
    return berth_json("network", "inspect", network)["gateway"]


def dig_tcp(container, name):
    """(addresses, dig's own query time in ms) of a +tcp query from inside a container."""
    out = in_container(container, "dig", "+tcp", "+time=2", "+tries=1", name, check=False).stdout
    addrs = re.findall(r"^\S+\s+\d+\s+IN\s+A\s+(\S+)", out, re.M)
    m = re.search(r"Query time: (\d+) msec", out)
    return addrs, int(m.group(1)) if m else None


def raw_api(request, timeout=5.0):
    """Sends `request` bytes to berthd's socket; returns everything it answers until it closes."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(SOCK)
        s.sendall(request)
        resp = b""
        while chunk := s.recv(65536):
            resp += chunk
    return resp.decode()


def api(method, path):
    head, body = raw_api(f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()).split("\r\n\r\n", 1)
    return int(head.split()[1]), json.loads(body)


class BerthdTest(BerthTest):

    def tearDown(self):
        run(["ip", "link", "del", "to-lan"], check=False)
        run(["ip", "netns", "del", "lan"], check=False)
        super().tearDown()

    def slowloris(self, argv_prefix, host, n, interval, seconds):
        """Starts the slow sender; returns its Popen once every connection is open."""
        p = subprocess.Popen([*argv_prefix, "/usr/bin/python3", "-c", SLOWLORIS, host, str(n), str(interval), str(seconds)],
                             stdout=subprocess.PIPE, text=True)
        self.assertEqual(p.stdout.readline().strip(), "connected")
        return p

    # --- DNS over TCP under a slow sender -----------------------------------------------------

    def test_lan_slowloris_does_not_starve_containers_tcp_queries(self):
        berth("network", "create", "mon")
        sleeper("mysql", "mon")
        sleeper("c", "mon")
        gw, ip = gateway("mon"), ip_of("mysql", "mon")
        wire_namespace("lan", "203.0.113.1", "203.0.113.2")
        # 100 connections from the LAN, one byte every 2 s: a source berthd refuses anyway.
        p = self.slowloris(["ip", "netns", "exec", "lan"], gw, 100, 2.0, 6.0)
        try:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                addrs, took = dig_tcp("c", "mysql")
                self.assertEqual(addrs, [ip])
                self.assertIsNotNone(took)
                self.assertLess(took, 1000, f"a TCP query took {took} ms under the slowloris")
                time.sleep(0.2)
            closed = json.loads(p.communicate(timeout=20)[0].splitlines()[-1])
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        # Every LAN connection was closed at once, none held a slot.
        self.assertEqual(len(closed), 100)
        self.assertTrue(all(t is not None and t < 1.0 for t in closed), closed)
        status = api("GET", "/v1/status")[1]["dns"]
        self.assertGreaterEqual(status["tcp_rejected"], 100)

    def test_slow_container_holds_a_few_slots_for_two_seconds_at_most(self):
        berth("network", "create", "mon")
        sleeper("mysql", "mon")
        sleeper("greedy", "mon")
        sleeper("c", "mon")
        gw, ip = gateway("mon"), ip_of("mysql", "mon")
        # 20 connections from one container, one byte every 0.5 s (never a whole query).
        p = self.slowloris([BERTH, "--root", ROOT, "exec", "greedy", "--"], gw, 20, 0.5, 4.0)
        try:
            addrs, took = dig_tcp("c", "mysql")
            self.assertEqual(addrs, [ip])
            self.assertLess(took, 1000)
            closed = json.loads(p.communicate(timeout=20)[0].splitlines()[-1])
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertTrue(all(t is not None for t in closed), f"left open: {closed}")
        at_once = [t for t in closed if t < 0.5]
        self.assertGreaterEqual(len(at_once), 12, f"over the per-source cap: {closed}")
        self.assertTrue(all(t < 3.0 for t in closed), f"the idle timeout: {closed}")
        self.assertGreaterEqual(api("GET", "/v1/status")[1]["dns"]["tcp_timeouts"], 1)

    # --- berthd comes back -------------------------------------------------------------------

    def test_kill9_then_any_command_that_relies_on_berthd_restarts_it(self):
        berth("network", "create", "mon")
        sleeper("mysql", "mon")
        sleeper("redis", "mon")
        ip = ip_of("mysql", "mon")
        for cmd in (["network", "ls"], ["ps"], ["inspect", "mysql"], ["network", "inspect", "mon"],
                    ["exec", "redis", "--", "true"]):
            old = berthd_pid()
            self.assertIsNotNone(old)
            os.kill(old, signal.SIGKILL)
            self.assertTrue(wait_until(lambda: berthd_pid() is None, 5))
            self.assertEqual(int(read(PID_FILE)), old)  # the stale pid file stays behind
            berth(*cmd)
            # The command waits until berthd answers; how fast is bench/'s business.
            self.assertTrue(wait_until(lambda: berthd_pid() not in (None, old), 5),
                            f"berth {' '.join(cmd)} did not bring berthd back")
            self.assertEqual(dig_tcp("redis", "mysql")[0], [ip])
        self.assertIn("msg=\"took over a stale pid file\"", read(os.path.join(ROOT, "berthd.log")))

    def test_stale_pid_file_naming_a_live_program_is_taken_over(self):
        berth("network", "create", "mon")
        sleeper("mysql", "mon")
        old = berthd_pid()
        os.kill(old, signal.SIGKILL)
        self.assertTrue(wait_until(lambda: berthd_pid() is None, 5))
        # The pid was reused by another program: only the lock tells it is not berthd.
        other = start_background(["sleep", "60"])
        with open(PID_FILE, "w") as f:
            f.write(f"{other}\n")
        berth("ps")
        new = berthd_pid()
        self.assertNotIn(new, (None, old, other))
        self.assertEqual(api("GET", "/v1/status")[1]["pid"], new)

    def test_commands_do_not_start_berthd_without_dns_to_serve(self):
        berth("network", "create", "quiet", "-o", "dns=false")
        sleeper("q", "quiet")
        berth("network", "create", "empty")  # DNS, but nobody on it
        berth("ps")
        berth("network", "ls")
        self.assertIsNone(berthd_pid())

    # --- the API -----------------------------------------------------------------------------

    def test_api_serves_others_while_a_client_stalls(self):
        berth("network", "create", "mon")
        sleeper("a", "mon")
        silent = socket.socket(socket.AF_UNIX)
        silent.connect(SOCK)
        trickle = socket.socket(socket.AF_UNIX)
        trickle.connect(SOCK)
        trickle.sendall(b"POST /v1/rel")
        try:
            start = time.monotonic()
            code, body = api("POST", "/v1/reload")
            self.assertLess(time.monotonic() - start, 0.5)
            self.assertEqual(code, 200)
            self.assertGreaterEqual(body["records"], 1)
            code, body = api("GET", "/v1/status")
            self.assertEqual((code, body["dns"]["networks"]), (200, ["mon"]))
            # The one that never finished its request gets 408 within the 2 s it has.
            trickle.settimeout(5)
            start = time.monotonic()
            self.assertTrue(trickle.recv(100).startswith(b"HTTP/1.1 408 "))
            self.assertLess(time.monotonic() - start, 2.5)
        finally:
            silent.close()
            trickle.close()

    def test_api_errors_and_concurrent_reloads(self):
        berth("network", "create", "mon")
        sleeper("a", "mon")
        code, body = api("GET", "/v1/nope")
        self.assertEqual(code, 404)
        self.assertEqual(body["endpoints"], ["GET /v1/status", "POST /v1/reload", "GET /metrics"])
        self.assertEqual(api("GET", "/v1/reload")[0], 405)
        self.assertTrue(raw_api(b"\x16\x03\x01\x00\x00").startswith("HTTP/1.1 400 "))
        big = b"GET /v1/status HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n"
        self.assertTrue(raw_api(big).startswith("HTTP/1.1 431 "))
        # HTTP/1.0, as curl --http1.0 or a bare socket speaks it.
        self.assertTrue(raw_api(b"GET /v1/status HTTP/1.0\r\n\r\n").startswith("HTTP/1.0 200 OK"))
        # A burst of reloads: all answered.
        before = api("GET", "/v1/status")[1]["generation"]
        procs = [subprocess.Popen([sys.executable, "-c",
                                   "import socket,sys\ns=socket.socket(socket.AF_UNIX)\n"
                                   f"s.connect({SOCK!r})\n"
                                   "s.sendall(b'POST /v1/reload HTTP/1.1\\r\\n\\r\\n')\n"
                                   "print(s.recv(100).split()[1].decode())"],
                                  stdout=subprocess.PIPE, text=True) for _ in range(20)]
        codes = [p.communicate(timeout=10)[0].strip() for p in procs]
        self.assertEqual(codes, ["200"] * 20)
        after = api("GET", "/v1/status")[1]["generation"]
        self.assertGreater(after, before)

    def test_flags(self):
        p = run([BERTHD, "--help"])
        for flag in ("--root", "--log-level", "--workers", "--port", "--upstream-timeout-ms",
                     "--resolv-conf", "--busy-poll-us", "--version"):
            self.assertIn(flag, p.stdout)
        self.assertEqual(run([BERTHD, "--version"]).stdout.strip(), "berthd 0.1.0")
        for bad in (["--workers", "0"], ["--port", "x"], ["--log-level", "loud"], ["--nope"]):
            p = run([BERTHD, *bad], check=False)
            self.assertEqual(p.returncode, 2, bad)
            self.assertTrue(p.stderr, bad)


if __name__ == "__main__":
    main()
