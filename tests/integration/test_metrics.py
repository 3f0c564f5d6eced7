"""berthd's Prometheus metrics (issue 14): /metrics on the API socket and with --metrics-listen
on TCP parses with prometheus_client's text parser, and its counters move when containers come
and go and when containers ask berthd's DNS. The attach/detach counters and duration
histograms move by exactly the attaches done by the CLI and the CNI plugin (the operation log),
a container that comes and goes between two reloads included."""

import json
import os
import re
import socket
import subprocess
import time
import urllib.request

from cni_runtime import Runtime

from prometheus_client.parser import text_string_to_metric_families

from harness import (ROOT, BerthTest, berth, berthd_pid, in_container, main, run, stop_berthd,
                     wait_until)

BERTHD = os.path.join(os.path.dirname(os.environ.get("BERTH_BIN", "")) or
                      os.path.join(os.path.dirname(__file__), "../../build"), "berthd")


def scrape_unix():
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(os.path.join(ROOT, "berthd.sock"))
        s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        resp = b""
        while chunk := s.recv(65536):
            resp += chunk
    head, body = resp.decode().split("\r\n\r\n", 1)
    assert head.startswith("HTTP/1.0 200"), head
    assert "text/plain; version=0.0.4" in head, head
    return body


def samples(text):
    """{(name, frozenset(labels)): value} of every sample, through prometheus_client's parser."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(text, name, **labels):
    return samples(text).get((name, frozenset(labels.items())), 0)


def sleeper(name, network):
    berth("run", "-d", "--name", name, "--network", network, "--", "sleep", "600")


CNI_DIR = os.environ.get("BERTH_CNI_DIR",
                         os.path.join(os.path.dirname(__file__), "../../build/cni"))


def ops(text, kind, source, network):
    """(attaches or detaches ok, failed, histogram count, histogram +Inf bucket)."""
    total = "berth_attaches_total" if kind == "attach" else "berth_detaches_total"
    hist = f"berth_{kind}_duration_seconds"
    return (value(text, total, source=source, network=network, result="ok"),
            value(text, total, source=source, network=network, result="failed"),
            value(text, hist + "_count", source=source, network=network),
            value(text, hist + "_bucket", source=source, network=network, le="+Inf"))


class MetricsTest(BerthTest):
    def test_counters_move_when_containers_come_and_go(self):
        berth("network", "create", "app", "--subnet", "10.77.0.0/24")
        sleeper("a", "app")  # starts berthd
        self.assertTrue(wait_until(lambda: berthd_pid() is not None))
        before = scrape_unix()
        self.assertEqual(value(before, "berth_network_addresses_used", network="app"), 1)
        self.assertEqual(value(before, "berth_network_addresses_free", network="app"), 252)
        sleeper("b", "app")
        berth("network", "create", "other")
        berth("network", "connect", "other", "b")
        mid = scrape_unix()
        self.assertEqual(value(mid, "berth_network_addresses_used", network="app"), 2)
        self.assertEqual(ops(mid, "attach", "cli", "app")[0],
                         ops(before, "attach", "cli", "app")[0] + 1)
        self.assertEqual(ops(mid, "attach", "cli", "other")[0], 1)
        berth("rm", "-f", "b")
        wait_until(lambda: ops(scrape_unix(), "detach", "cli", "other")[0] >= 1)
        after_rm = scrape_unix()
        self.assertEqual(ops(after_rm, "detach", "cli", "app")[0], 1)
        self.assertEqual(ops(after_rm, "detach", "cli", "other")[0], 1)
        self.assertEqual(value(after_rm, "berth_endpoints"), 1)
        # DNS queries by transport, type and rcode, and their latency.
        udp = {"transport": "udp", "type": "A", "rcode": "NOERROR"}
        q = value(scrape_unix(), "berth_dns_queries_total", **udp)
        lat = value(scrape_unix(), "berth_dns_query_duration_seconds_count", transport="udp",
                    answer="local")
        in_container("a", "nslookup", "a", check=False)
        in_container("a", "nslookup", "nosuchname.invalid.", check=False)
        after = scrape_unix()
        self.assertGreater(value(after, "berth_dns_queries_total", **udp), q)
        self.assertGreater(value(after, "berth_dns_query_duration_seconds_count", transport="udp",
                                 answer="local"), lat)
        self.assertGreater(value(after, "berth_dns_query_duration_seconds_sum", transport="udp",
                                 answer="local"), 0)
        # Over TCP.
        out = in_container("a", "dig", "+tcp", "+time=2", "+tries=1", "@10.77.0.1", "a",
                           check=False)
        tcp = scrape_unix()
        # "a." is not a name of ours: forwarded (and SERVFAIL without an upstream).
        self.assertGreaterEqual(sum(value(tcp, "berth_dns_query_duration_seconds_count",
                                          transport="tcp", answer=a)
                                    for a in ("local", "forwarded")), 1, out.stdout + out.stderr)
        self.assertGreaterEqual(sum(v for (n, l), v in samples(tcp).items()
                                    if n == "berth_dns_queries_total" and
                                    ("transport", "tcp") in l), 1)
        for family in text_string_to_metric_families(after):
            self.assertTrue(family.name.startswith("berth_"), family.name)

    def test_histograms_count_exactly_the_attaches_done(self):
        berth("network", "create", "app", "--subnet", "10.78.0.0/24")
        sleeper("a", "app")
        self.assertTrue(wait_until(lambda: berthd_pid() is not None))
        before = scrape_unix()
        a0 = ops(before, "attach", "cli", "app")
        d0 = ops(before, "detach", "cli", "app")
        # Containers that come and go between two reloads of berthd, and one that stays.
        for i in range(3):
            sleeper(f"q{i}", "app")
            berth("rm", "-f", f"q{i}")
        sleeper("b", "app")
        # A failed attach: the port is taken.
        berth("run", "-d", "--name", "c1", "--network", "app", "-p", "8181:80", "--",
              "sleep", "600")
        p = berth("run", "-d", "--name", "c2", "--network", "app", "-p", "8181:80", "--",
                  "sleep", "600", check=False)
        self.assertNotEqual(p.returncode, 0)
        # A container's monitor may release its endpoints a moment after `rm` returns.
        wait_until(lambda: ops(scrape_unix(), "detach", "cli", "app")[0] - d0[0] >= 3)
        time.sleep(0.3)  # and nothing more comes
        after = scrape_unix()
        a1 = ops(after, "attach", "cli", "app")
        d1 = ops(after, "detach", "cli", "app")
        self.assertEqual(a1[0] - a0[0], 5, after)      # q0..q2, b, c1
        self.assertEqual(a1[1] - a0[1], 1)             # c2
        self.assertEqual(a1[2] - a0[2], 5)             # the histogram counts successes
        self.assertEqual(a1[3], a1[2])
        self.assertEqual(d1[0] - d0[0], 3)
        self.assertEqual(d1[2] - d0[2], 3)
        # Buckets are cumulative and the sum is plausible.
        les = sorted((float(dict(l)["le"]), v) for (n, l), v in samples(after).items()
                     if n == "berth_attach_duration_seconds_bucket" and
                     dict(l).get("network") == "app" and dict(l).get("source") == "cli")
        self.assertEqual([v for _, v in les], sorted(v for _, v in les))
        total = value(after, "berth_attach_duration_seconds_sum", source="cli", network="app")
        self.assertGreater(total, 0)
        self.assertLess(total / a1[2], 10)

        # The CNI plugin reports its own, with source="cni".
        rt = Runtime([CNI_DIR])
        conf = {"cniVersion": "1.0.0", "name": "cninet", "type": "berth", "root": ROOT,
                "ipam": {"subnet": "10.124.0.0/24"}}
        run(["ip", "netns", "add", "m1"])
        try:
            for i in range(2):
                rt.invoke("berth", "ADD", conf, container_id=f"cid{i}", netns="/run/netns/m1",
                          ifname=f"eth{i}")
            for i in range(2):
                rt.invoke("berth", "DEL", conf, container_id=f"cid{i}", netns="/run/netns/m1",
                          ifname=f"eth{i}")
        finally:
            run(["ip", "netns", "del", "m1"], check=False)
        cni = scrape_unix()
        self.assertEqual(ops(cni, "attach", "cni", "cninet")[:3], (2, 0, 2))
        self.assertEqual(ops(cni, "detach", "cni", "cninet")[:3], (2, 0, 2))
        self.assertEqual(ops(cni, "attach", "cli", "app"), a1)  # nothing counted twice

    def test_the_grafana_dashboard_asks_for_metrics_that_exist(self):
        berth("network", "create", "app")
        sleeper("a", "app")
        self.assertTrue(wait_until(lambda: berthd_pid() is not None))
        berth("rm", "-f", "a")  # an attach and a detach: their series exist
        text = scrape_unix()
        families = {f.name for f in text_string_to_metric_families(text)}
        path = os.path.join(os.path.dirname(__file__), "../../contrib/grafana-dashboard.json")
        with open(path) as f:
            exprs = [t["expr"] for p in json.load(f)["panels"] for t in p.get("targets", [])]
        used = set(re.findall(r"berth_[a-z_]+", " ".join(exprs)))
        for name in used:
            base = re.sub(r"_(bucket|total)$", "", name)
            if base.startswith("berth_cluster_"):
                continue  # only on a host in a cluster (test_events.py)
            self.assertIn(base, families, name)

    def test_metrics_listen_on_tcp(self):
        stop_berthd()
        proc = subprocess.Popen([BERTHD, "--root", ROOT, "--metrics-listen", "127.0.0.1:9323"],
                                stderr=subprocess.DEVNULL)
        try:
            def up():
                try:
                    return urllib.request.urlopen("http://127.0.0.1:9323/metrics", timeout=1)
                except OSError:
                    return None
            self.assertTrue(wait_until(lambda: up() is not None))
            resp = up()
            self.assertIn("version=0.0.4", resp.headers["Content-Type"])
            text = resp.read().decode()
            names = {f.name for f in text_string_to_metric_families(text)}
            for want in ("berth_attaches", "berth_detaches", "berth_attach_duration_seconds",
                         "berth_detach_duration_seconds", "berth_dns_queries",
                         "berth_dns_query_duration_seconds", "berth_firewall_restores",
                         "berth_network_addresses_used"):
                self.assertIn(want, names)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
