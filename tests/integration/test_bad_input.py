"""Bad input: every case gets a non-zero exit, a message that says what is wrong, and changes
nothing (links, addresses, routes, nftables, mounts, files and berth's state compared before and
after). Table-driven: each row is (berth arguments, a substring the message must contain)."""

import os

from harness import (ROOT, BerthTest, berth, berth_json, main, run, start_background,
                     wait_until)

LONG_NAME = "a" * 64

# (name, what the message says after `invalid KIND name`)
BAD_NAMES = [
    ("", ": empty"),
    (LONG_NAME, f' "{LONG_NAME}": longer than 63 characters'),
    ("x; flush ruleset", ' "x; flush ruleset": only [a-zA-Z0-9]'),
    ("$(id)", ' "$(id)": must start with a letter or digit'),
    ("a b", ' "a b": only [a-zA-Z0-9]'),
    ("ünï", ' "\\xc3\\xbcn\\xc3\\xaf": must start with a letter or digit'),
    ("aü", ' "a\\xc3\\xbc": only [a-zA-Z0-9]'),
    ("-o", ' "-o": must start with a letter or digit'),
    ("a/b", ' "a/b": only [a-zA-Z0-9]'),
    ("x\n", ' "x\\x0a": only [a-zA-Z0-9]'),
    ("x'", ' "x\'": only [a-zA-Z0-9]'),
    ('{"a":1}', ' "{"a":1}": must start with a letter or digit'),
]

# (network create arguments, message)
BAD_NETWORKS = [
    *[(["network", "create", "--", name], "invalid network name" + msg) for name, msg in BAD_NAMES],
    (["network", "create", "x", "-o", "bridge_name=" + "b" * 16], "longer than 15 characters"),
    (["network", "create", "x", "-o", "bridge_name=a;b"], "invalid interface name"),
    (["network", "create", "x", "-o", "bridge_name="], "invalid interface name: empty"),
    # Subnets: malformed, misaligned, too small, overlapping.
    (["network", "create", "x", "--subnet", "172.20.0.0"], "expected ADDRESS/PREFIX"),
    (["network", "create", "x", "--subnet", "172.20.0.0/33"], "prefix length must be 0-32"),
    (["network", "create", "x", "--subnet", "172.20.0.0/x"], "prefix length"),
    (["network", "create", "x", "--subnet", "172.300.0.0/16"], "bad address"),
    (["network", "create", "x", "--subnet", "garbage"], "invalid CIDR"),
    (["network", "create", "x", "--subnet", ""], "invalid CIDR"),
    (["network", "create", "x", "--subnet", "172.20.0.1/16"], "did you mean 172.20.0.0/16"),
    (["network", "create", "x", "--subnet", "172.20.0.0/31"], "too small"),
    (["network", "create", "x", "--subnet", "172.20.0.0/32"], "too small"),
    (["network", "create", "x", "--subnet", "172.25.0.0/24"],
     "overlaps the subnet of another network (172.25.0.0/16)"),
    (["network", "create", "x", "--subnet", "172.24.0.0/14"], "overlaps"),
    (["network", "create", "x", "--subnet", "172.17.5.0/24"], "overlaps"),
    (["network", "create", "x", "--subnet", "2001:db8::/64"], "IPv6 subnets are not supported"),
    # Gateways and ranges.
    (["network", "create", "x", "--subnet", "172.21.0.0/24", "--gateway", "172.22.0.1"],
     "gateway 172.22.0.1 is outside subnet 172.21.0.0/24"),
    (["network", "create", "x", "--subnet", "172.21.0.0/24", "--gateway", "172.21.0.0"],
     "is the network or broadcast address"),
    (["network", "create", "x", "--subnet", "172.21.0.0/24", "--gateway", "172.21.0.255"],
     "is the network or broadcast address"),
    (["network", "create", "x", "--subnet", "172.21.0.0/24", "--gateway", "172.21.0"],
     "invalid IP address"),
    (["network", "create", "x", "--gateway", "172.21.0.1"], "--gateway needs --subnet"),
    (["network", "create", "x", "--subnet", "172.21.0.0/24", "--ip-range", "172.21.1.0/25"],
     "ip range 172.21.1.0/25 is outside subnet 172.21.0.0/24"),
    (["network", "create", "x", "--subnet", "172.21.0.0/24", "--ip-range", "172.21.0.0/23"],
     "outside subnet"),
    (["network", "create", "x", "--subnet", "172.21.0.0/24", "--ip-range", "172.21.0.1/25"],
     "did you mean 172.21.0.0/25"),
    (["network", "create", "x", "--ip-range", "172.21.0.0/25"], "--ip-range needs --subnet"),
    # A range with no address a container can get.
    (["network", "create", "x", "--subnet", "172.21.0.0/24", "--gateway", "172.21.0.5",
      "--ip-range", "172.21.0.5/32"], "ip range 172.21.0.5/32 holds no usable address"),
    (["network", "create", "x", "--subnet", "172.21.0.0/24", "--ip-range", "172.21.0.0/31"],
     "holds no usable address"),
    (["network", "create", "x", "--subnet", "172.21.0.0/24", "--ip-range", "172.21.0.255/32"],
     "holds no usable address"),
    # Ranges that break the host: refused even with --force ...
    *[(["network", "create", "x", "--subnet", subnet, *force], msg)
      for force in ([], ["--force"])
      for subnet, msg in [
          ("127.0.0.0/8", "subnet 127.0.0.0/8 is loopback: the host's local route"),
          ("127.1.0.0/16", "overlaps 127.0.0.0/8, loopback"),
          ("0.0.0.0/8", '"this network" (0/8)'),
          ("224.0.0.0/4", "multicast"),
          ("239.1.0.0/16", "multicast"),
          ("255.255.255.0/24", "the limited broadcast address 255.255.255.255"),
          ("240.0.0.0/4", "the limited broadcast address"),
          ("96.0.0.0/3", "overlaps 127.0.0.0/8"),
      ]],
    # ... and unusual ones, without it (the message says how).
    (["network", "create", "x", "--subnet", "169.254.0.0/16"], ("link-local", "--force")),
    (["network", "create", "x", "--subnet", "169.254.10.0/24"], ("link-local", "--force")),
    (["network", "create", "x", "--subnet", "240.1.0.0/16"], ("reserved (240/4)", "--force")),
    # A host's connected route (the dummy link of setUp) and a route via a gateway.
    (["network", "create", "x", "--subnet", "198.18.5.0/24"],
     ("overlaps the host's route to 198.18.5.0/24", "--force")),
    (["network", "create", "x", "--subnet", "198.18.0.0/16"], "overlaps the host's route"),
    (["network", "create", "x", "--subnet", "198.18.7.0/25"],
     "overlaps the host's route to 198.18.7.0/24"),
    # Names that exist or are reserved.
    (["network", "create", "web"], "network with name web already exists"),
    (["network", "create", "host"], "network name host is reserved"),
    (["network", "create", "none"], "network name none is reserved"),
    (["network", "create", "bridge"], "network name bridge is reserved"),
    (["network", "create", "x", "-o", "bridge_name=berth0"], "berth0"),
    (["network", "create", "x", "-o", "bridge_name=lo"], "an interface named lo already exists"),
    # Options, MTU, driver.
    (["network", "create", "x", "-o", "nosuch=1"], 'unknown network option "nosuch"'),
    (["network", "create", "x", "-o", "masquerade"], "expected KEY=VALUE"),
    (["network", "create", "x", "-o", "masquerade=maybe"], "must be true or false"),
    (["network", "create", "x", "-o", "mtu=abc"], 'invalid MTU "abc"'),
    (["network", "create", "x", "--mtu", "10"], "invalid MTU 10: must be 68-65535"),
    (["network", "create", "x", "--mtu", "70000"], "invalid MTU 70000"),
    (["network", "create", "x", "--mtu", "-1"], "invalid MTU"),
    (["network", "create", "x", "--mtu", "abc"], 'invalid --mtu "abc": expected a number'),
    (["network", "create", "x", "--mtu", "1500x"], 'invalid --mtu "1500x"'),
    (["network", "create", "x", "--mtu", ""], 'invalid --mtu ""'),
    (["network", "create", "x", "--mtu", "1400", "-o", "mtu=1500"], "conflicts"),
    (["network", "create", "x", "-d", "macvlan"], 'unsupported network driver "macvlan"'),
]

# (run arguments before "--", message). The network "web" is 172.25.0.0/16 with container "a"
# at 172.25.0.2.
BAD_RUNS = [
    *[(["--name", name], "invalid container name" + msg) for name, msg in BAD_NAMES if name],
    (["--name", "a"], "container name a is already in use"),
    (["--network", "nosuch"], "network nosuch not found"),
    (["--network", "x; flush ruleset"], "invalid network name"),
    (["--network", "container:nosuch"], "no such container: nosuch"),
    (["--network", "container:"], "needs a container name"),
    (["--network", "web", "--ip", "172.26.0.5"], "172.26.0.5 is outside subnet 172.25.0.0/16"),
    (["--network", "web", "--ip", "172.25.0.2"], "172.25.0.2 is already in use"),
    (["--network", "web", "--ip", "172.25.0.1"], "reserved"),
    (["--network", "web", "--ip", "172.25.0.0"], "reserved"),
    (["--network", "web", "--ip", "172.25.255.255"], "reserved"),
    (["--network", "web", "--ip", "172.25.0"], "invalid IP address"),
    (["--network", "web", "--ip", "2001:db8::5"], "outside subnet"),
    (["--network", "host", "--ip", "172.25.0.9"], "--ip cannot be used with --network host"),
    (["--network", "none", "--ip", "172.25.0.9"], "--ip cannot be used with --network none"),
    (["--network", "container:a", "--ip", "172.25.0.9"], "--ip cannot be used"),
    (["--ip", "172.17.0.9"], "not on the default bridge network"),
    (["--network", "bridge", "--ip", "172.17.0.9"], "not on the default bridge network"),
    (["--hostname", "-bad"], "invalid hostname"),
    (["--hostname", "under_score"], "invalid hostname"),
    (["--hostname", "a..b"], "invalid hostname"),
    (["--hostname", "h" * 64], "invalid hostname"),
    (["--hostname", "x;reboot"], "invalid hostname"),
    (["--network", "container:a", "--hostname", "other"], "--hostname cannot be used"),
    (["--network", "none", "--alias", "x"], "--alias is supported on user-defined networks only"),
    (["--network", "web", "--alias", "$(id)"], "invalid alias name"),
    # Port 53 on a gateway (or every address) is berthd's DNS; no --force (Docker has none).
    (["-p", "53:53/udp"], "port 53/udp on every host address is taken by berthd"),
    (["--network", "web", "-p", "53:53"], "port 53/tcp on every host address is taken by berthd"),
    (["--network", "web", "-p", "172.25.0.1:53:53/udp"],
     "port 53/udp on 172.25.0.1 is taken by berthd"),
    (["--network", "web", "-p", "172.17.0.1:50-60:50-60/udp"], "taken by berthd"),
    (["--network", "web", "-p", "1-65535:1-65535"], "taken by berthd"),
    (["--network", "web", "-p", "2000-65535:2000-65535"], "is in use on the host by process"),
]


LISTENER = """
import socket, sys, time
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", 7777)); t.listen()
a = socket.socket(); a.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
a.bind(("0.0.0.0", 32768)); a.listen()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 5353))
open(sys.argv[1], "w").close()
time.sleep(300)
"""


def start_host_listeners(test):
    """A host process (python3) listening on 127.0.0.1:7777/tcp, 0.0.0.0:32768/tcp (the first
    port berth picks for `-p PORT`) and 0.0.0.0:5353/udp."""
    ready = os.path.join("/run", f"listeners-ready-{os.getpid()}")
    if os.path.exists(ready):
        os.unlink(ready)
    pid = start_background(["python3", "-c", LISTENER, ready])
    test.assertTrue(wait_until(lambda: os.path.exists(ready), timeout=10), "listener ready")
    os.unlink(ready)
    return pid


class BadInputTest(BerthTest):
    def setUp(self):
        super().setUp()
        # A host route of the sandbox host (a connected /24 and one via a gateway): a subnet
        # overlapping either needs --force.
        run(["ip", "link", "add", "hostnet0", "type", "veth", "peer", "name", "hostnet1"])
        self.addCleanup(run, ["ip", "link", "del", "hostnet0"], check=False)
        run(["ip", "addr", "add", "198.18.5.1/24", "dev", "hostnet0"])
        run(["ip", "link", "set", "hostnet0", "up"])
        run(["ip", "route", "add", "198.18.7.0/24", "via", "198.18.5.2"])
        self.listener_pid = start_host_listeners(self)
        berth("network", "create", "web", "--subnet", "172.25.0.0/16")
        berth("run", "-d", "--name", "a", "--network", "web", "--", "sleep", "300")
        berth("run", "--name", "stopped", "--network", "web", "--", "true")
        # The default network is in use too, so its bridge exists before every case.
        berth("run", "-d", "--name", "d", "--", "sleep", "300")

    def test_network_create(self):
        for args, msg in BAD_NETWORKS:
            with self.subTest(args=args):
                self.assertBadInput(*args, msg=msg)

    def test_run(self):
        for args, msg in BAD_RUNS:
            for detach in ([], ["-d"]):
                with self.subTest(args=args, detach=detach):
                    p = self.assertBadInput("run", *detach, *args, "--", "sleep", "300", msg=msg)
                    self.assertEqual(p.returncode, 125, "berth's own failures exit 125")
                    self.assertEqual(p.stdout, "")

    def test_published_ports_a_host_process_holds_are_refused(self):
        pid = self.listener_pid
        for spec, msg in [
                ("7777:80", f"port 7777/tcp is in use on the host by process python3 (pid {pid})"),
                ("127.0.0.1:7777:80", "listening on 127.0.0.1:7777"),
                ("7770-7780:7770-7780", "port 7777/tcp is in use on the host by process python3"),
                ("5353:53/udp", f"port 5353/udp is in use on the host by process python3 (pid {pid})"),
                ("198.51.100.1:5353:53/udp", "listening on 0.0.0.0:5353")]:
            with self.subTest(spec=spec):
                p = self.assertBadInput("run", "-d", "--network", "web", "-p", spec, "--", "sleep",
                                        "300", msg=msg)
                self.assertEqual(p.returncode, 125)
        # Not held: another address, another protocol.
        berth("run", "-d", "--name", "ok", "--network", "web", "-p", "7777:80/udp", "--",
              "sleep", "300")

    def test_automatic_host_ports_skip_ports_in_use_on_the_host(self):
        berth("run", "-d", "--name", "auto", "--network", "web", "-p", "80", "--", "sleep", "300")
        ports = berth_json("inspect", "auto")["networks"]["web"]["ports"]
        self.assertEqual(ports[0]["host_port"], 32769, "32768 has a host listener")

    def test_force_allows_what_can_work(self):
        for subnet in ("198.18.5.0/24", "169.254.10.0/24", "240.1.0.0/16"):
            with self.subTest(subnet=subnet):
                berth("network", "create", "forced", "--subnet", subnet, "--force")
                self.assertEqual(berth_json("network", "inspect", "forced")["subnet"], subnet)
                berth("network", "rm", "forced")

    def test_mtu_that_is_not_a_number_exits_125(self):
        p = self.assertBadInput("network", "create", "x", "--mtu", "abc", msg="invalid --mtu")
        self.assertEqual(p.returncode, 125)

    def test_run_without_a_command(self):
        self.assertBadInput("run", "--network", "web", msg="command")
        self.assertBadInput("run", "--network", "web", "--", msg="command")

    def test_double_dash_ends_the_options_of_every_verb(self):
        # So names that look like options reach the validation (and good names work).
        self.assertBadInput("network", "create", "--", "-o", msg='invalid network name "-o"')
        self.assertBadInput("rm", "-f", "--", "-x", msg="no such container: -x")
        berth("network", "create", "--", "web2")
        berth("network", "inspect", "--", "web2")
        berth("network", "rm", "--", "web2")
        self.assertEqual(berth("rm", "-f", "--", "stopped").stdout, "stopped\n")
        self.assertBadInput("network", "create", "x", "y", msg="unexpected arguments: y")

    def test_unknown_container(self):
        for args in (["rm", "nosuch"], ["rm", "-f", "nosuch"], ["inspect", "nosuch"],
                     ["exec", "nosuch", "--", "true"]):
            with self.subTest(args=args):
                self.assertBadInput(*args, msg="no such container: nosuch")
        # One unknown name among good ones: the good ones are removed, the exit is non-zero.
        p = berth("rm", "stopped", "nosuch", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("no such container: nosuch", p.stderr)
        self.assertEqual(p.stdout, "stopped\n")

    def test_unknown_network(self):
        for args in (["network", "rm", "nosuch"], ["network", "inspect", "nosuch"],
                     ["network", "explain", "nosuch"]):
            with self.subTest(args=args):
                self.assertBadInput(*args, msg="network nosuch not found")

    def test_network_rm_with_attached_containers_names_them(self):
        p = self.assertBadInput("network", "rm", "web", msg="network web has active endpoints")
        # A stopped container let go of the network (Docker): only the running one holds it.
        self.assertIn("(containers: a)", p.stderr)
        self.assertIn("remove or disconnect them first", p.stderr)
        p = self.assertBadInput("network", "rm", "bridge",
                                msg="bridge is the default network and cannot be removed")

    def test_removing_the_default_network_is_refused_even_when_unused(self):
        berth("rm", "-f", "d")
        self.assertBadInput("network", "rm", "bridge", msg="default network and cannot be removed")
        net_id = berth_json("network", "inspect", "bridge")["id"]
        self.assertBadInput("network", "rm", net_id[:12], msg="default network")

    def test_names_that_are_id_prefixes_stay_usable(self):
        # Container ids are hex: with enough containers, two share a first character. A new
        # container or network named that character is still no duplicate of anything.
        made = {}
        for i in range(17):
            name = f"c{i}x"
            berth("run", "-d", "--name", name, "--network", "none", "--", "sleep", "300")
            made[name] = berth_json("inspect", name)["id"]
        firsts = [i[0] for i in made.values()] + [berth_json("inspect", n)["id"][0]
                                                  for n in ("a", "stopped", "d")]
        shared = next(c for c in "0123456789abcdef" if firsts.count(c) >= 2)
        if shared in ("a", "d"):
            berth("rm", "-f", shared)
        berth("run", "-d", "--name", shared, "--network", "none", "--", "sleep", "300")
        self.assertEqual(berth_json("inspect", shared)["name"], shared)
        berth("network", "create", shared)
        self.assertEqual(berth_json("network", "inspect", shared)["name"], shared)
        berth("network", "rm", shared)


class FreshRootTest(BerthTest):
    """Bad input as the first thing a state root sees: not even berth's directories for
    namespaces and container files (nor the mount of the former) may appear."""

    def test_bad_run_on_a_fresh_root(self):
        berth("network", "create", "web", "--subnet", "172.25.0.0/16")
        for args, msg in BAD_RUNS:
            if "container name a" in msg or "container:a" in args or "in use" in msg:
                continue  # needs the container a
            if "-p" in args:
                continue  # published ports are checked at attach, after the root's directories
            with self.subTest(args=args):
                self.assertBadInput("run", *args, "--", "true", msg=msg)
        self.assertNotIn("netns", os.listdir(ROOT))
        self.assertNotIn("containers", os.listdir(ROOT))

    def test_bad_network_on_a_fresh_root(self):
        for args, msg in BAD_NETWORKS:
            text = " ".join(msg) if isinstance(msg, tuple) else msg
            if "already exists" in text or text == "overlaps" or "another network" in text \
                    or "host's route" in text:
                continue  # needs the network "web" or the host route of BadInputTest
            with self.subTest(args=args):
                self.assertBadInput(*args, msg=msg)


if __name__ == "__main__":
    main()
