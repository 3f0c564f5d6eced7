"""berthd's Prometheus metrics (issue 14): /metrics on the API socket and with --metrics-listen
on TCP parses with prometheus_client's text parser, and its counters move when containers come
and go and when containers ask berthd's DNS."""

import os
import socket
import subprocess
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from harness import (ROOT, BerthTest, berth, berthd_pid, in_container, main, stop_berthd,
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
        self.assertTrue(wait_until(
            lambda: value(scrape_unix(), "berth_attaches_total") >=
            value(before, "berth_attaches_total") + 2))
        mid = scrape_unix()
        self.assertEqual(value(mid, "berth_network_addresses_used", network="app"), 2)
        berth("rm", "-f", "b")
        self.assertTrue(wait_until(
            lambda: value(scrape_unix(), "berth_detaches_total") >=
            value(mid, "berth_detaches_total") + 2))
        # DNS queries by type and rcode.
        q = value(scrape_unix(), "berth_dns_queries_total", type="A", rcode="NOERROR")
        in_container("a", "nslookup", "a", check=False)
        in_container("a", "nslookup", "nosuchname.invalid.", check=False)
        after = scrape_unix()
        self.assertGreater(value(after, "berth_dns_queries_total", type="A", rcode="NOERROR"), q)
        for family in text_string_to_metric_families(after):
            self.assertTrue(family.name.startswith("berth_"), family.name)

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
            for want in ("berth_attaches", "berth_detaches", "berth_dns_queries",
                         "berth_firewall_restores", "berth_network_addresses_used"):
                self.assertIn(want, names)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
