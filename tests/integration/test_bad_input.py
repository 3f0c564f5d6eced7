"""Bad input: every case gets a non-zero exit, a message that says what is wrong, and changes
nothing (links, addresses, routes, nftables, mounts, files and berth's state compared before and
after). Table-driven: each row is (berth arguments, a substring the message must contain)."""

import os

from harness import ROOT, BerthTest, berth, berth_json, main

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
    (["network", "create", "x", "--mtu", "abc"], "--mtu"),
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
]


class BadInputTest(BerthTest):
    def setUp(self):
        super().setUp()
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
        self.assertIn("a, stopped", p.stderr)
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
            with self.subTest(args=args):
                self.assertBadInput("run", *args, "--", "true", msg=msg)
        self.assertNotIn("netns", os.listdir(ROOT))
        self.assertNotIn("containers", os.listdir(ROOT))

    def test_bad_network_on_a_fresh_root(self):
        for args, msg in BAD_NETWORKS:
            if "already exists" in msg or "overlaps" in msg:
                continue  # needs the network "web"
            with self.subTest(args=args):
                self.assertBadInput(*args, msg=msg)


if __name__ == "__main__":
    main()
