"""berthd heals by itself (issue 11, "Reconcile" and "Self-healing firewall"): with berthd
running and no berth command, every kind of damage to berth's nftables table (flush ruleset,
delete table, flushed chain, flushed set) is undone within moments, published ports answer
again, and an operation killed with -9 is finished or undone by berthd's periodic reconcile.

The restore times are printed (the figure for the closing note); the asserts allow 5 s so a
loaded CI machine never fails them."""

import json
import os
import random
import signal
import subprocess
import time

from harness import (BERTH, ROOT, BerthTest, World, ask, berth, berth_json, berthd_pid,
                     ip_json, main, nft_elements, read, run, serve_peer_echo,
                     wait_listening, wait_until)

HOST_LAN, LAN = "203.0.113.1", "203.0.113.2"
BOUND = 5.0  # generous: the figure that matters is printed


def table_shape():
    """berth's table as comparable data: each chain's rule count, each set's sorted elements;
    None when the table is gone."""
    p = run(["nft", "-j", "list", "table", "inet", "berth"], check=False)
    if p.returncode != 0:
        return None
    shape = {}
    for o in json.loads(p.stdout)["nftables"]:
        if "chain" in o:
            shape.setdefault("chain " + o["chain"]["name"], 0)
        elif "rule" in o:
            key = "chain " + o["rule"]["chain"]
            shape[key] = shape.get(key, 0) + 1
        elif "set" in o or "map" in o:
            body = o.get("set") or o.get("map")
            shape["set " + body["name"]] = sorted(json.dumps(e, sort_keys=True)
                                                  for e in body.get("elem", []))
    return shape


def api_status():
    out = subprocess.run(["curl", "-s", "--unix-socket", os.path.join(ROOT, "berthd.sock"),
                          "http://x/v1/status"], capture_output=True, text=True, timeout=10)
    return json.loads(out.stdout)


def berthd_log():
    try:
        return read(os.path.join(ROOT, "berthd.log"))
    except OSError:
        return ""


class SelfHealTest(BerthTest):
    def setUp(self):
        super().setUp()
        self.world = None

    def tearDown(self):
        if self.world:
            self.world.close()
        super().tearDown()
        os.environ.pop("BERTHD_RECONCILE_INTERVAL", None)

    def start(self, interval):
        """A network, a container publishing 18080 (which starts berthd) and berthd's pid."""
        # berth passes its environment on to the berthd it starts.
        os.environ["BERTHD_RECONCILE_INTERVAL"] = str(interval)
        berth("network", "create", "web")
        berth("run", "-d", "--name", "a", "--network", "web", "-p", "18080:80", "--",
              "sleep", "300")
        self.assertTrue(wait_until(lambda: berthd_pid() is not None), "berthd did not start")
        self.assertTrue(wait_until(lambda: api_status().get("reconcile_runs", 0) >= 1),
                        "berthd did not reconcile at start")
        return berthd_pid()

    def damage_and_wait(self, want, *nft_args):
        """Damages the table with `nft ARGS`; returns the seconds until it is back as `want`."""
        start = time.monotonic()
        run(["nft", *nft_args])
        back = wait_until(lambda: table_shape() == want, timeout=BOUND, interval=0.005)
        took = time.monotonic() - start
        print(f"  nft {' '.join(nft_args)}: restored in {took * 1000:.0f} ms", flush=True)
        self.assertTrue(back, f"nft {' '.join(nft_args)}: not restored within {BOUND} s\n"
                              f"now: {table_shape()}\nlog:\n{berthd_log()[-3000:]}")
        return took

    def test_every_damage_is_restored_without_a_command(self):
        pid = self.start(interval=3600)  # only the monitor may restore here
        want = table_shape()
        # The published port's DNAT element is part of what must come back.
        self.assertTrue(any("18080" in e for e in want["set pub_port_addr"]), want)
        self.assertTrue(want["set bridges"], want)
        restores = api_status()["firewall_restores"]
        self.assertTrue(api_status()["firewall_monitor"])
        times = []
        for damage in (["flush", "ruleset"],
                       ["delete", "table", "inet", "berth"],
                       ["flush", "chain", "inet", "berth", "forward"],
                       ["flush", "chain", "inet", "berth", "prerouting"],
                       ["flush", "set", "inet", "berth", "bridges"],
                       ["flush", "map", "inet", "berth", "pub_port_addr"]):
            times.append(self.damage_and_wait(want, *damage))
            # One restore each, counted, and the same berthd did it.
            self.assertTrue(wait_until(lambda: api_status()["firewall_restores"] == restores + 1),
                            api_status())
            restores += 1
        self.assertEqual(berthd_pid(), pid)
        restored = [l for l in berthd_log().splitlines() if "firewall restored" in l]
        self.assertEqual(len(restored), len(times), restored)
        print("  berthd: " + restored[0][:300], flush=True)
        print(f"  restore times (ms): {[round(t * 1000) for t in times]}, "
              f"max {max(times) * 1000:.0f}", flush=True)

    def test_published_port_answers_again_after_a_flush(self):
        self.start(interval=3600)
        self.world = World()
        serve_peer_echo(container="a", port=80)
        wait_listening("a", 80)
        self.assertEqual(ask(HOST_LAN, 18080, netns="lan"), LAN)
        want = table_shape()
        self.damage_and_wait(want, "flush", "ruleset")
        self.assertEqual(ask(HOST_LAN, 18080, netns="lan"), LAN)

    def test_a_killed_run_is_repaired_by_the_periodic_reconcile(self):
        self.start(interval=1)
        intents = os.path.join(ROOT, "intents")
        seed = int(os.environ.get("BERTH_SEED", time.time()))
        rng = random.Random(seed)
        # A random moment of a whole `run -d -p`: how long one takes here, first.
        start = time.monotonic()
        berth("run", "-d", "--name", "ref", "--network", "web", "-p", "18099:80", "--",
              "sleep", "300")
        full = time.monotonic() - start
        print(f"  seed {seed}; a whole run -d -p takes {full * 1000:.0f} ms", flush=True)
        with_intent = 0
        for i in range(10):
            p = subprocess.Popen([BERTH, "--root", ROOT, "run", "-d", "--name", f"k{i}",
                                  "--network", "web", "-p", f"{18100 + i}:80", "--",
                                  "sleep", "300"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            delay = rng.uniform(0.0, full)
            time.sleep(delay)
            p.send_signal(signal.SIGKILL)
            p.wait()
            left = os.listdir(intents) if os.path.isdir(intents) else []
            with_intent += bool(left)
            # No berth command from here on: berthd alone must finish or undo it.
            start = time.monotonic()
            done = wait_until(lambda: not (os.listdir(intents) if os.path.isdir(intents) else []),
                              timeout=BOUND)
            print(f"  kill after {delay * 1000:.0f} ms: {len(left)} intent(s) left, "
                  f"recovered in {(time.monotonic() - start) * 1000:.0f} ms", flush=True)
            self.assertTrue(done, f"intents still there: {os.listdir(intents)}\n"
                                  f"{berthd_log()[-3000:]}")
        print(f"  {with_intent} of 10 kills left an intent; berthd recovered each", flush=True)
        # What is left agrees: every veth on the bridge has an endpoint, every published port
        # element a container.
        bridge = berth_json("network", "inspect", "web")["bridge"]
        containers = berth_json("ps", "-a", "--format", "json")
        veths = [l for l in ip_json("link") if l.get("master") == bridge]
        self.assertLessEqual(len(veths), len(containers), (veths, containers))
        names = {c["name"] for c in containers}
        for e in nft_elements("pub_port_addr") or []:
            port = json.dumps(e)
            hit = [i for i in range(10) if str(18100 + i) in port]
            for i in hit:
                self.assertIn(f"k{i}", names, f"DNAT element {port} of no container")


if __name__ == "__main__":
    main()
