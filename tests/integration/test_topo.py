"""`berth topo` (issue 14): the veth pairs it shows are the kernel's (ifindexes and IFLA_LINK on
both sides), with addresses, MACs, netns inodes and published ports; text and dot render, and
svg is drawn by Graphviz's library (libgvc6, dlopened)."""

import json
import os
import xml.etree.ElementTree as ET

from harness import BerthTest, berth, berth_json, ip_json, main, run


class TopoTest(BerthTest):
    def test_json_pairs_match_the_kernel(self):
        berth("network", "create", "app")
        berth("run", "-d", "--name", "a", "--network", "app", "-p", "8080:80", "--", "sleep", "600")
        berth("run", "-d", "--name", "b", "--", "sleep", "600")
        berth("network", "connect", "app", "b")
        topo = json.loads(berth("topo", "--format", "json").stdout)
        host = {l["ifname"]: l for l in ip_json("link")}
        bridges = {b["network"]: b for b in topo["bridges"]}
        self.assertEqual(bridges["app"]["ifindex"], host[bridges["app"]["bridge"]]["ifindex"])
        seen = 0
        for c in topo["containers"]:
            inside = {l["ifname"]: l for l in json.loads(
                run(["nsenter", f"--net={c['netns']}", "ip", "-j", "link"]).stdout)}
            self.assertEqual(c["netns_inode"], os.stat(c["netns"]).st_ino)
            for i in c["interfaces"]:
                seen += 1
                eth, veth = inside[i["ifname"]], host[i["host_veth"]]
                self.assertEqual(i["ifindex"], eth["ifindex"])
                self.assertEqual(i["host_ifindex"], veth["ifindex"])
                self.assertEqual(i["peer_ifindex"], veth["ifindex"])   # eth0@ifN: N is the veth
                self.assertEqual(i["host_peer_ifindex"], eth["ifindex"])  # vethX@ifM: M is eth0
                self.assertEqual(eth.get("link_index"), veth["ifindex"])
                self.assertEqual(veth.get("link_index"), eth["ifindex"])
                self.assertEqual(i["mac"], eth["address"])
                self.assertEqual(i["bridge"], veth["master"])
                want = berth_json("inspect", c["name"])["networks"][i["network"]]["ip"]
                self.assertEqual(i["ip"].split("/")[0], want)
        self.assertEqual(seen, 3)
        a = next(c for c in topo["containers"] if c["name"] == "a")
        self.assertEqual(a["interfaces"][0]["ports"], ["8080->80/tcp"])

    def test_text_and_dot(self):
        berth("network", "create", "app")
        berth("run", "-d", "--name", "a", "--network", "app", "--", "sleep", "600")
        text = berth("topo").stdout
        self.assertIn("(network app)", text)
        self.assertIn(" a eth0@if", text)
        dot = berth("topo", "--format", "dot").stdout
        self.assertTrue(dot.startswith("graph berth {"))
        self.assertIn('"c:a" -- "br:', dot)

    def test_svg_is_a_drawing_with_every_container_and_veth_pair(self):
        berth("network", "create", "app")
        berth("run", "-d", "--name", "web", "--network", "app", "-p", "8080:80", "--",
              "sleep", "600")
        berth("run", "-d", "--name", "db", "--network", "app", "--", "sleep", "600")
        berth("network", "connect", "bridge", "db")
        topo = json.loads(berth("topo", "--format", "json").stdout)
        svg = berth("topo", "--format", "svg").stdout
        root = ET.fromstring(svg)  # well-formed XML
        self.assertTrue(root.tag.endswith("svg"), root.tag)
        texts = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
        pairs = 0
        for c in topo["containers"]:
            self.assertIn(c["name"], texts)
            for i in c["interfaces"]:
                pairs += 1
                self.assertIn(f"{i['ifname']}@if{i['peer_ifindex']}", texts)
                self.assertIn(f"{i['host_veth']}@if{i['host_peer_ifindex']}", texts)
        self.assertEqual(pairs, 3)
        for b in topo["bridges"]:
            self.assertIn(b["bridge"], texts)


if __name__ == "__main__":
    main()
