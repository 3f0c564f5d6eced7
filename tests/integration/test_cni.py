"""The CNI plugin, invoked exactly as a runtime invokes it (CNI_* environment, configuration on
stdin): every command and version, errors and their codes, idempotent DEL, CHECK, GC, STATUS,
50 parallel ADDs, chaining with the reference tuning and bandwidth plugins, and delegated
host-local IPAM."""

import concurrent.futures
import json
import time
import os

from harness import (ROOT, BerthTest, World, ask, berth, berth_json, host_links, ip_json, main,
                     netns_exec, nft_elements, run, serve_peer_echo, state_snapshot,
                     stop_berthd)
from cni_runtime import REFERENCE_PLUGIN_DIR, Runtime

CNI_DIR = os.environ.get("BERTH_CNI_DIR",
                         os.path.join(os.path.dirname(__file__), "../../build/cni"))
RT = Runtime([CNI_DIR, REFERENCE_PLUGIN_DIR])
VERSIONS = ["0.3.1", "0.4.0", "1.0.0", "1.1.0"]
SUBNET = "10.123.0"
UP, HOST_UP, LAN, HOST_LAN = "198.51.100.2", "198.51.100.1", "203.0.113.2", "203.0.113.1"


def conf(version="1.0.0", name="cninet", **extra):
    c = {"cniVersion": version, "name": name, "type": "berth", "root": ROOT,
         "ipam": {"subnet": f"{SUBNET}.0/24"}}
    c.update(extra)
    return c


def have_reference_plugins(*names):
    return all(os.access(os.path.join(REFERENCE_PLUGIN_DIR, n), os.X_OK) for n in names)


class CniTest(BerthTest):
    def setUp(self):
        super().setUp()
        self.namespaces = []

    def tearDown(self):
        super().tearDown()
        for ns in self.namespaces:
            run(["ip", "netns", "del", ns], check=False)

    def netns(self, name):
        run(["ip", "netns", "add", name])  # lo stays down: that is the runtime's business
        self.namespaces.append(name)
        return f"/run/netns/{name}"

    def add(self, cid, netns, c=None, ifname="eth0", args=""):
        return RT.invoke("berth", "ADD", c or conf(), container_id=cid, netns=netns,
                         ifname=ifname, args=args)

    def delete(self, cid, netns="", c=None, ifname="eth0"):
        return RT.invoke("berth", "DEL", c or conf(), container_id=cid, netns=netns,
                         ifname=ifname)

    def assertCniError(self, code, command, c, text=None, **kw):
        rc, doc, out, err = RT.exec("berth", command, c, **kw)
        self.assertNotEqual(rc, 0, f"{command} should fail: {out}")
        self.assertIsInstance(doc, dict, f"error document on stdout: {out!r} {err}")
        self.assertEqual(doc["code"], code, out)
        self.assertIn("msg", doc)
        self.assertIn("cniVersion", doc)
        if text:
            self.assertIn(text, json.dumps(doc))
        return doc

    def veths(self):
        return {l for l in host_links() if l.startswith("veth")}

    @staticmethod
    def links_in(ns):
        return {l["ifname"] for l in ip_json("link", netns=ns)}

    def ping_from(self, ns, ip):
        return netns_exec(ns, "ping", "-c", "1", "-W", "2", ip, check=False).returncode == 0

    # VERSION

    def test_version_for_every_version_and_without_stdin(self):
        for v in VERSIONS + ["0.2.0"]:
            doc = RT.invoke("berth", "VERSION", {"cniVersion": v})
            self.assertEqual(doc["cniVersion"], v)
            self.assertEqual(doc["supportedVersions"], VERSIONS)
        doc = RT.invoke("berth", "VERSION", None, stdin="")
        self.assertEqual(doc["cniVersion"], "1.1.0")

    # ADD / CHECK / DEL per version

    def test_add_check_del_in_every_version(self):
        for i, v in enumerate(VERSIONS):
            with self.subTest(version=v):
                ns = self.netns(f"v{i}")
                cid = f"ctr-{i}"
                res = self.add(cid, ns, conf(v))
                self.assertEqual(res["cniVersion"], v)
                names = [x["name"] for x in res["interfaces"]]
                net = berth_json("network", "inspect", "cninet")
                ep = [x for x in net["containers"] if x["id"] == cid][0]
                self.assertEqual(names, [net["bridge"], ep["host_veth"], "eth0"])
                # The host-side MACs are the kernel's, as it has them now.
                macs = {l["ifname"]: l["address"] for l in ip_json("link", "show")}
                self.assertEqual([x["mac"] for x in res["interfaces"][:2]],
                                 [macs[net["bridge"]], macs[ep["host_veth"]]])
                eth0 = res["interfaces"][2]
                self.assertEqual(eth0["sandbox"], ns)
                self.assertEqual(eth0["mac"], ep["mac"])
                ipc = res["ips"][0]
                self.assertEqual(ipc["address"], f"{ep['ip']}/24")
                self.assertEqual(ipc["gateway"], f"{SUBNET}.1")
                self.assertEqual(ipc["interface"], 2)
                # 0.3.x/0.4.0 tag IPs with their version; 1.1.0 reports the MTU.
                self.assertEqual(ipc.get("version"), "4" if v < "1.0.0" else None)
                self.assertEqual(eth0.get("mtu"), 1500 if v == "1.1.0" else None)
                self.assertEqual(res["routes"], [{"dst": "0.0.0.0/0", "gw": f"{SUBNET}.1"}])
                # The kernel agrees.
                addr = ip_json("addr", "show", "eth0", netns=f"v{i}")[0]
                self.assertIn((ep["ip"], 24), [(a["local"], a["prefixlen"])
                                               for a in addr["addr_info"]])
                route = ip_json("route", "show", "default", netns=f"v{i}")[0]
                self.assertEqual(route["gateway"], f"{SUBNET}.1")
                veth = ip_json("link", "show", ep["host_veth"])[0]
                self.assertEqual(veth["master"], net["bridge"])
                self.assertTrue(self.ping_from(f"v{i}", f"{SUBNET}.1"))
                if v != "0.3.1":  # CHECK exists from 0.4.0
                    RT.invoke("berth", "CHECK", conf(v, prevResult=res), container_id=cid,
                              netns=ns, ifname="eth0")
                self.delete(cid, ns, conf(v))
                self.assertNotIn(ep["host_veth"], host_links())
                self.assertNotIn("eth0", self.links_in(f"v{i}"))
                self.delete(cid, ns, conf(v))  # a second DEL succeeds too
        self.assertEqual(berth_json("network", "inspect", "cninet")["containers"], [])

    def test_network_and_endpoints_are_visible_to_berth(self):
        ns = self.netns("vis")
        self.add("podsandbox1", ns, args="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;"
                                           "K8S_POD_NAME=web-0")
        net = berth_json("network", "inspect", "cninet")
        self.assertEqual(net["subnet"], f"{SUBNET}.0/24")
        self.assertEqual(net["options"], {"dns": "true", "masquerade": "true"})
        self.assertEqual([(c["name"], c["id"]) for c in net["containers"]],
                         [("web-0", "podsandbox1")])
        ps = berth_json("ps", "--format", "json")  # listed without -a
        self.assertEqual([(p["name"], p["mode"], p["cni"]) for p in ps], [("web-0", "cni", True)])
        self.assertEqual(ps[0]["netns"]["path"], ns)
        self.assertIn("cni", berth("ps").stdout.splitlines()[1].split())
        inspect = berth_json("inspect", "web-0")
        self.assertEqual(inspect["networks"]["cninet"]["interface"], "eth0")
        self.assertIsNotNone(inspect["networks"]["cninet"]["ifindex"])
        # A network in use cannot be removed under the runtime's feet.
        self.assertNotEqual(berth("network", "rm", "cninet", check=False).returncode, 0)
        self.delete("podsandbox1", ns)
        self.assertEqual(berth_json("ps", "-a", "--format", "json"), [])
        # The runtime's namespace is the runtime's: berth leaves it alone.
        self.assertTrue(os.path.exists(ns))

    def test_an_existing_berth_network_can_be_used(self):
        berth("network", "create", "web", "--subnet", "10.124.0.0/24")
        berth("run", "-d", "--name", "native", "--network", "web", "--", "sleep", "300")
        ns = self.netns("ext")
        c = {"cniVersion": "1.0.0", "name": "web", "type": "berth", "root": ROOT}
        res = self.add("ext1", ns, c)
        self.assertEqual(res["ips"][0]["address"], "10.124.0.3/24")
        native = berth_json("inspect", "native")["networks"]["web"]["ip"]
        self.assertTrue(self.ping_from("ext", native))
        # Asking for another subnet than the network has is a configuration error.
        self.assertCniError(7, "ADD", dict(c, ipam={"subnet": "10.125.0.0/24"}),
                            "exists with subnet 10.124.0.0/24", container_id="ext2",
                            netns=self.netns("ext2"), ifname="eth0")
        # GC never touches berth's own containers.
        RT.invoke("berth", "GC", dict(c, cniVersion="1.1.0",
                                      **{"cni.dev/valid-attachments": []}))
        self.assertEqual([x["name"] for x in berth_json("network", "inspect", "web")["containers"]],
                         ["native"])

    # Errors: the right code, a document on stdout, nothing changed.

    def test_errors_have_spec_codes_and_change_nothing(self):
        ns = self.netns("err")
        self.add("keep", ns)  # some state that must survive every failed call
        before = state_snapshot()
        env_ok = dict(container_id="bad1", netns=self.netns("err2"), ifname="eth0")
        self.assertCniError(6, "ADD", None, stdin="{not json", **env_ok)
        self.assertCniError(6, "ADD", None, stdin="", **env_ok)
        self.assertCniError(1, "ADD", conf("0.2.0"), "not supported", **env_ok)
        self.assertCniError(1, "ADD", conf("2.0.0"), **env_ok)
        self.assertCniError(1, "CHECK", conf("0.3.1", prevResult={}), **env_ok)
        self.assertCniError(1, "STATUS", conf("1.0.0"))
        self.assertCniError(1, "GC", conf("1.0.0", **{"cni.dev/valid-attachments": []}))
        c = conf()
        del c["name"]
        self.assertCniError(7, "ADD", c, "name", **env_ok)
        self.assertCniError(7, "ADD", conf(ipam={"subnet": "10.123.0.0/33"}), **env_ok)
        self.assertCniError(7, "ADD", conf(mtu="big"), "mtu", **env_ok)
        self.assertCniError(2, "ADD", conf(ipam={"subnet": "10.123.0.0/24", "ranges": []}),
                            "ipam.ranges", **env_ok)
        self.assertCniError(4, "ADD", conf(), "CNI_NETNS", container_id="bad1",
                            netns="/run/netns/does-not-exist", ifname="eth0")
        self.assertCniError(4, "ADD", conf(), "CNI_NETNS", container_id="bad1",
                            netns="/etc/hostname", ifname="eth0")
        self.assertCniError(4, "ADD", conf(), "CNI_CONTAINERID", netns=env_ok["netns"],
                            ifname="eth0")
        self.assertCniError(4, "ADD", conf(), "CNI_IFNAME", container_id="bad1",
                            netns=env_ok["netns"])
        self.assertCniError(4, "ADD", conf(), "CNI_IFNAME", container_id="bad1",
                            netns=env_ok["netns"], ifname="waytoolongifname0")
        self.assertCniError(4, "ADD", conf(), "CNI_ARGS", args="BOGUS=1", **env_ok)
        env = RT.env("FROB", "bad1", env_ok["netns"], "eth0")
        self.assertCniError(4, "FROB", conf(), "CNI_COMMAND", env=env)
        env = RT.env("ADD", "bad1", env_ok["netns"], "eth0")
        del env["CNI_COMMAND"]
        self.assertCniError(4, "ADD", conf(), "CNI_COMMAND", env=env)
        # Valid requests that cannot be met.
        self.assertCniError(7, "ADD", conf(runtimeConfig={"ips": ["10.99.0.5"]}), "outside",
                            **env_ok)
        self.assertCniError(101, "ADD", conf(), "already attached", container_id="keep",
                            netns=ns, ifname="eth0")
        self.assertCniError(7, "CHECK", conf(), "prevResult", **env_ok)
        self.assertCniError(7, "GC", conf("1.1.0"), "valid-attachments")
        self.assertUnchanged(before, "failed CNI calls")

    def test_a_failed_first_add_does_not_leave_the_network_behind(self):
        # berth's nftables table is created once, on first use, and stays (empty) like the
        # bridge-less `berth network rm` leaves it: make it exist before comparing.
        berth("network", "create", "seed", "--subnet", "10.141.0.0/24")
        before = state_snapshot()
        ns = self.netns("fresh")
        c = conf(name="fresh", runtimeConfig={"ips": [f"{SUBNET}.1"]})  # the gateway
        self.assertCniError(7, "ADD", c, "reserved", container_id="f1", netns=ns,
                            ifname="eth0")
        self.assertUnchanged(before, "failed first ADD")
        # Reusing the namespace's interface name fails in the kernel: also undone.
        self.add("f2", ns, conf(name="fresh"))
        before = state_snapshot()
        self.assertCniError(101, "ADD", conf(name="fresh2", ipam={"subnet": "10.126.0.0/24"}),
                            "already exists", container_id="f3", netns=ns, ifname="eth0")
        self.assertUnchanged(before, "failed ADD into a used interface name")

    # DEL

    def test_del_is_idempotent_and_works_after_the_netns_is_gone(self):
        ns = self.netns("gone")
        res = self.add("g1", ns)
        veth = res["interfaces"][1]["name"]
        run(["ip", "netns", "del", "gone"])
        self.delete("g1", ns)
        self.assertNotIn(veth, host_links())
        self.assertEqual(berth_json("ps", "-a", "--format", "json"), [])
        self.delete("g1", ns)
        self.delete("g1", "")  # without CNI_NETNS
        self.delete("never-added", "")
        rc, doc, out, _ = RT.exec("berth", "DEL", conf(), container_id="g1", ifname="eth0")
        self.assertEqual((rc, out), (0, ""))
        # The address is free again.
        res2 = self.add("g2", self.netns("gone2"))
        self.assertEqual(res2["ips"][0]["address"], f"{SUBNET}.3/24")  # the cursor moves on

    def test_add_right_after_del_of_the_same_container(self):
        # DEL leaves the host veth down and deletes it in the background; a runtime re-adding
        # the container at once must not trip over it, and the late deletion must not take
        # the new interface with it.
        ns = self.netns("again")
        first = self.add("r1", ns)
        for _ in range(3):
            self.delete("r1", ns)
            res = self.add("r1", ns)
            self.assertEqual(res["interfaces"][1]["name"], first["interfaces"][1]["name"])
        gw = res["ips"][0]["gateway"]
        time.sleep(0.2)  # any background deletion has run by now
        self.assertIn(first["interfaces"][1]["name"], host_links(settle=False))
        self.assertEqual(self.links_in("again"), {"lo", "eth0"})
        self.assertTrue(self.ping_from("again", gw))

    # CHECK

    def test_check_reports_what_is_missing(self):
        ns = self.netns("chk")
        res = self.add("k1", ns)
        c = conf(prevResult=res)
        kw = dict(container_id="k1", netns=ns, ifname="eth0")
        RT.invoke("berth", "CHECK", c, **kw)
        ip = res["ips"][0]["address"]
        run(["ip", "-n", "chk", "route", "del", "default"])
        self.assertCniError(102, "CHECK", c, "route default via 10.123.0.1 is missing", **kw)
        run(["ip", "-n", "chk", "route", "add", "default", "via", f"{SUBNET}.1"])
        RT.invoke("berth", "CHECK", c, **kw)
        run(["ip", "-n", "chk", "addr", "del", ip, "dev", "eth0"])
        self.assertCniError(102, "CHECK", c, f"address {ip} is missing", **kw)
        run(["ip", "-n", "chk", "addr", "add", ip, "dev", "eth0"])
        run(["ip", "-n", "chk", "route", "add", "default", "via", f"{SUBNET}.1"])
        RT.invoke("berth", "CHECK", c, **kw)
        veth = res["interfaces"][1]["name"]
        run(["ip", "link", "set", veth, "nomaster"])
        self.assertCniError(102, "CHECK", c, "not a port of bridge", **kw)
        run(["ip", "link", "set", veth, "master", res["interfaces"][0]["name"]])
        RT.invoke("berth", "CHECK", c, **kw)
        run(["ip", "addr", "flush", "dev", res["interfaces"][0]["name"]])
        self.assertCniError(102, "CHECK", c, "gateway address", **kw)
        # What the runtime was told must be what berth holds.
        wrong = json.loads(json.dumps(res))
        wrong["ips"][0]["address"] = f"{SUBNET}.77/24"
        self.assertCniError(102, "CHECK", conf(prevResult=wrong), "was told address", **kw)
        self.assertCniError(102, "CHECK", c, "no such attachment", container_id="other",
                            netns=ns, ifname="eth0")

    # GC and STATUS

    def test_gc_removes_attachments_not_in_the_valid_list(self):
        nss = {cid: self.netns(f"gc{i}") for i, cid in enumerate(["a", "b", "c"])}
        veths = {cid: self.add(cid, ns)["interfaces"][1]["name"] for cid, ns in nss.items()}
        c = conf("1.1.0", **{"cni.dev/valid-attachments": [{"containerID": "a", "ifname": "eth0"},
                                                           {"containerID": "c", "ifname": "eth9"}]})
        rc, doc, out, err = RT.exec("berth", "GC", c)
        self.assertEqual((rc, out), (0, ""), err)
        self.assertEqual([x["id"] for x in berth_json("network", "inspect", "cninet")["containers"]],
                         ["a"])
        self.assertIn(veths["a"], host_links())
        self.assertNotIn(veths["b"], host_links())
        self.assertNotIn(veths["c"], host_links())
        self.assertNotIn("eth0", self.links_in("gc1"))
        # libcni's other spelling of the key works as well; an unknown network is fine.
        RT.invoke("berth", "GC", conf("1.1.0", **{"cni.dev/attachments": []}))
        self.assertNotIn(veths["a"], host_links())
        RT.invoke("berth", "GC", conf("1.1.0", name="nosuch", **{"cni.dev/valid-attachments": []}))

    def test_status_reports_readiness(self):
        c = conf("1.1.0", ipam={"subnet": f"{SUBNET}.0/24", "rangeStart": f"{SUBNET}.10",
                                "rangeEnd": f"{SUBNET}.11"})
        rc, _, out, _ = RT.exec("berth", "STATUS", c)
        self.assertEqual((rc, out), (0, ""))
        res = [self.add(f"s{i}", self.netns(f"st{i}"), c) for i in range(2)]
        self.assertEqual([r["ips"][0]["address"] for r in res],
                         [f"{SUBNET}.10/24", f"{SUBNET}.11/24"])
        self.assertCniError(50, "STATUS", c, "no free address")
        self.assertCniError(11, "ADD", c, "no free address", container_id="s2",
                            netns=self.netns("st2"), ifname="eth0")
        self.delete("s0", "", c)
        RT.invoke("berth", "STATUS", c)
        # A network that could not be created is not ready either.
        self.assertCniError(50, "STATUS", conf("1.1.0", name="clash",
                                               ipam={"subnet": f"{SUBNET}.128/25"}), "overlaps")

    # Scale

    def test_fifty_parallel_adds(self):
        n = 50
        nss = [self.netns(f"p{i}") for i in range(n)]
        c = conf(ipam={"subnet": "10.127.0.0/24"})

        def add(i):
            return RT.invoke("berth", "ADD", c, container_id=f"par{i:02d}", netns=nss[i],
                             ifname="eth0", timeout=120)

        with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
            results = list(pool.map(add, range(n)))
        ips = [r["ips"][0]["address"].split("/")[0] for r in results]
        self.assertEqual(len(set(ips)), n, "unique addresses")
        self.assertEqual(len(self.veths()), n)
        net = berth_json("network", "inspect", "cninet")
        self.assertEqual(sorted(x["ip"] for x in net["containers"]), sorted(ips))
        # All reachable: from the host side, and container to container across the bridge.
        unreachable = [ip for ip in ips
                       if run(["ping", "-c", "1", "-W", "2", ip], check=False).returncode != 0]
        self.assertEqual(unreachable, [])
        for i in range(0, n, 7):
            self.assertTrue(self.ping_from(f"p{i}", ips[(i + 1) % n]), f"p{i} -> {ips[(i+1)%n]}")

        def delete(i):
            RT.invoke("berth", "DEL", c, container_id=f"par{i:02d}", netns=nss[i],
                      ifname="eth0", timeout=120)

        with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
            list(pool.map(delete, range(n)))
        self.assertEqual(self.veths(), set())
        self.assertEqual(berth_json("network", "inspect", "cninet")["containers"], [])
        self.assertEqual(berth_json("ps", "-a", "--format", "json"), [])
        for i in range(n):
            self.assertNotIn("eth0", self.links_in(f"p{i}"))

    # Chaining and delegation with the reference plugins.

    def test_chain_with_tuning_and_bandwidth(self):
        if not have_reference_plugins("tuning", "bandwidth"):
            self.skipTest("reference CNI plugins (containernetworking-plugins) not installed")
        conflist = {"cniVersion": "1.0.0", "name": "chain", "plugins": [
            {"type": "berth", "root": ROOT, "ipam": {"subnet": "10.128.0.0/24"},
             "capabilities": {"portMappings": True, "aliases": True}},
            {"type": "tuning", "sysctl": {"net.ipv4.conf.eth0.arp_notify": "1"},
             "mac": "c2:11:22:33:44:55"},
            {"type": "bandwidth", "ingressRate": 8000000, "ingressBurst": 1000000,
             "egressRate": 8000000, "egressBurst": 1000000},
        ]}
        ns = self.netns("chain")
        res = RT.add_list(conflist, "ch1", ns, capability_args={"aliases": {"chain": ["www"]}})
        # The final result still is berth's, passed along (tuning changed the MAC in it).
        net = berth_json("network", "inspect", "chain")
        ep = net["containers"][0]
        self.assertEqual(ep["aliases"], ["www"])
        self.assertEqual(res["ips"][0]["address"], f"{ep['ip']}/24")
        self.assertEqual([i["name"] for i in res["interfaces"]][:3],
                         [net["bridge"], ep["host_veth"], "eth0"])
        self.assertEqual(res["interfaces"][2]["mac"], "c2:11:22:33:44:55")
        self.assertEqual(netns_exec("chain", "cat",
                                    "/proc/sys/net/ipv4/conf/eth0/arp_notify").stdout.strip(), "1")
        qdiscs = json.loads(run(["tc", "-j", "qdisc", "show", "dev", ep["host_veth"]]).stdout)
        self.assertIn("tbf", [q["kind"] for q in qdiscs], "bandwidth found berth's host veth")
        # CHECK through the chain: berth accepts the MAC tuning set (it is in the result).
        RT.check_list(conflist, "ch1", ns, res)
        self.assertTrue(self.ping_from("chain", "10.128.0.1"))
        RT.del_list(conflist, "ch1", ns, res)
        self.assertNotIn(ep["host_veth"], host_links())
        self.assertEqual([l for l in host_links() if l.startswith("bwp")], [],
                         "bandwidth's ifb device is gone")
        self.assertEqual(berth_json("network", "inspect", "chain")["containers"], [])

    def test_delegated_host_local_ipam(self):
        if not have_reference_plugins("host-local"):
            self.skipTest("reference CNI plugins (containernetworking-plugins) not installed")
        data_dir = os.path.join(ROOT, "host-local")
        c = {"cniVersion": "1.0.0", "name": "hl", "type": "berth", "root": ROOT,
             "ipam": {"type": "host-local", "dataDir": data_dir,
                      "ranges": [[{"subnet": "10.129.0.0/24", "rangeStart": "10.129.0.50"}]],
                      "routes": [{"dst": "0.0.0.0/0"}]}}
        ns = self.netns("hl")
        res = self.add("h1", ns, c)
        self.assertEqual(res["ips"][0], {"address": "10.129.0.50/24", "gateway": "10.129.0.1",
                                         "interface": 2})
        net = berth_json("network", "inspect", "hl")
        self.assertEqual((net["subnet"], net["gateway"]), ("10.129.0.0/24", "10.129.0.1"))
        self.assertTrue(os.path.exists(os.path.join(data_dir, "hl", "10.129.0.50")))
        self.assertTrue(self.ping_from("hl", "10.129.0.1"))
        RT.invoke("berth", "CHECK", dict(c, prevResult=res), container_id="h1", netns=ns,
                  ifname="eth0")
        # A failed attach gives the address back to host-local.
        self.assertCniError(101, "ADD", c, "already exists", container_id="h2", netns=ns,
                            ifname="eth0")
        self.assertFalse(os.path.exists(os.path.join(data_dir, "hl", "10.129.0.51")))
        self.delete("h1", ns, c)
        self.assertFalse(os.path.exists(os.path.join(data_dir, "hl", "10.129.0.50")))
        self.delete("h1", ns, c)
        # An IPAM plugin that is not there is a configuration error.
        bad = dict(c, ipam={"type": "no-such-ipam"})
        self.assertCniError(7, "ADD", bad, "no-such-ipam", container_id="h3", netns=ns,
                            ifname="eth1")

    # Published ports and masquerade: the same firewall as `berth run -p`.

    def test_published_port_answers_from_a_lan_client(self):
        world = World()
        self.addCleanup(world.close)
        serve_peer_echo(netns="up")
        ns = self.netns("web")
        ports = [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp", "hostIP": ""}]
        c = conf(capabilities={"portMappings": True}, runtimeConfig={"portMappings": ports})
        res = self.add("w1", ns, c)
        ip = res["ips"][0]["address"].split("/")[0]
        serve_peer_echo(netns="web", port=80)
        self.assertEqual(ask(HOST_LAN, 8080, netns="lan"), LAN, "LAN client, real source")
        self.assertEqual(ask(UP, 80, netns="web"), HOST_UP, "egress is masqueraded (ipMasq)")
        ps = berth_json("ps", "--format", "json")
        self.assertEqual(ps[0]["networks"]["cninet"]["ports"],
                         [{"host_ip": "0.0.0.0", "host_port": 8080, "container_port": 80,
                           "count": 1, "protocol": "tcp"}])
        self.assertEqual(nft_elements("pub_port_addr"), [[{"concat": ["tcp", 8080]}, ip]])
        # CHECK notices a rule that went missing.
        kw = dict(container_id="w1", netns=ns, ifname="eth0")
        RT.invoke("berth", "CHECK", dict(c, prevResult=res), **kw)
        # berthd would put the element back within milliseconds (it watches nftables): CHECK's
        # own finding is what is tested here.
        stop_berthd()
        run(["nft", "delete", "element", "inet", "berth", "pub_port_port", "{ tcp . 8080 }"])
        self.assertCniError(102, "CHECK", dict(c, prevResult=res),
                            "firewall rules are missing (pub_port_port: tcp . 8080 : 80)", **kw)
        run(["nft", "add", "element", "inet", "berth", "pub_port_port", "{ tcp . 8080 : 80 }"])
        RT.invoke("berth", "CHECK", dict(c, prevResult=res), **kw)
        # The port is taken: a second attachment asking for it fails and changes nothing.
        before = state_snapshot()
        self.assertCniError(101, "ADD", c, "8080", container_id="w2", netns=self.netns("web2"),
                            ifname="eth0")
        self.assertUnchanged(before, "ADD with a taken port")
        # DEL takes the port away with the attachment.
        self.delete("w1", ns, c)
        self.assertIsNone(ask(HOST_LAN, 8080, netns="lan"))
        self.assertEqual(nft_elements("pub_port_addr"), [])

    def test_ipmasq_false_keeps_the_container_address(self):
        world = World()
        self.addCleanup(world.close)
        serve_peer_echo(netns="up")
        ns = self.netns("raw")
        res = self.add("r1", ns, conf(ipMasq=False))
        ip = res["ips"][0]["address"].split("/")[0]
        run(["ip", "-n", "up", "route", "add", f"{SUBNET}.0/24", "via", HOST_UP])
        self.assertEqual(ask(UP, 80, netns="raw"), ip)
        self.assertEqual(berth_json("network", "inspect", "cninet")["options"]["masquerade"],
                         "false")

    # Capabilities

    def test_runtime_config_ips_mac_aliases_dns(self):
        ns = self.netns("rc")
        c = conf(capabilities={"ips": True, "mac": True, "aliases": True, "dns": True},
                 runtimeConfig={"ips": [f"{SUBNET}.42/24"], "mac": "c2:00:00:00:00:42",
                                "aliases": {"cninet": ["api", "www"], "other": ["x"]},
                                "dns": {"servers": ["198.51.100.53"], "searches": ["example"]}},
                 dns={"nameservers": ["198.51.100.54"]})
        res = self.add("rc1", ns, c)
        self.assertEqual(res["ips"][0]["address"], f"{SUBNET}.42/24")
        self.assertEqual(res["interfaces"][2]["mac"], "c2:00:00:00:00:42")
        link = ip_json("link", "show", "eth0", netns="rc")[0]
        self.assertEqual(link["address"], "c2:00:00:00:00:42")
        self.assertEqual(res["dns"], {"nameservers": ["198.51.100.54", "198.51.100.53"],
                                      "search": ["example"]})
        ep = berth_json("inspect", "cni-rc1")["networks"]["cninet"]
        self.assertEqual(ep["aliases"], ["api", "www"])
        # CNI_ARGS IP works like runtimeConfig.ips.
        res2 = self.add("rc2", self.netns("rc2"), conf(), args=f"IP={SUBNET}.43")
        self.assertEqual(res2["ips"][0]["address"], f"{SUBNET}.43/24")

    def test_two_networks_for_one_container(self):
        ns = self.netns("two")
        a = self.add("t1", ns, conf(name="neta"))
        b = self.add("t1", ns, conf(name="netb", ipam={"subnet": "10.130.0.0/24"}), ifname="eth1")
        self.assertIn("routes", a)
        self.assertNotIn("routes", b, "the first network keeps the default route")
        self.assertEqual([r["dev"] for r in ip_json("route", "show", "default", netns="two")],
                         ["eth0"])
        self.assertTrue(self.ping_from("two", "10.130.0.1"))
        self.delete("t1", ns, conf(name="neta"))
        self.assertEqual(len(berth_json("ps", "--format", "json")), 1)
        self.delete("t1", ns, conf(name="netb", ipam={"subnet": "10.130.0.0/24"}), ifname="eth1")
        self.assertEqual(berth_json("ps", "-a", "--format", "json"), [])


if __name__ == "__main__":
    main()
