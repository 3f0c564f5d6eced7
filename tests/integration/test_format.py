"""`--format` with Go template syntax (issue 15): docker's spellings over berth's documents, so
the scripts of the source documents (`--format '{{.State.Pid}}'` to find a container's process)
work unchanged; `table` formats for the list verbs; template errors are usage errors."""

import json
import os

from harness import BerthTest, berth, berth_json, main


class FormatTest(BerthTest):
    def setUp(self):
        super().setUp()
        berth("network", "create", "web", "--subnet", "10.9.0.0/24")
        berth("run", "-d", "--name", "c1", "--network", "web", "--", "sleep", "300")

    def test_inspect_state_pid_is_the_containers_process(self):
        pid = berth("inspect", "--format", "{{.State.Pid}}", "c1").stdout
        self.assertRegex(pid, r"^[0-9]+\n$")
        pid = int(pid)
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            self.assertEqual(f.read().split(b"\0")[0], b"sleep")
        doc = berth_json("inspect", "c1")
        self.assertEqual(pid, doc["pid"])
        # It lives in the network namespace inspect reports.
        self.assertEqual(os.stat(f"/proc/{pid}/ns/net").st_ino, doc["netns"]["inode"])
        # docker's short -f works for inspect too.
        self.assertEqual(berth("inspect", "-f", "{{.State.Running}} "
                               "{{.State.Status}} {{.Name}} {{.Id}}", "c1").stdout,
                         f"true running /c1 {doc['id']}\n")

    def test_a_stopped_containers_networks_are_still_listed(self):
        # Docker's: its networks stay in .NetworkSettings.Networks, without an address (it let
        # go of it), and the one connected while it was stopped is there too.
        berth("network", "create", "db")
        berth("run", "-d", "--name", "s", "--network", "web", "--ip", "10.9.0.77", "--",
              "sleep", "300")
        berth("stop", "-t", "0", "s")
        berth("network", "connect", "db", "s")
        fmt = ("{{range $k, $n := .NetworkSettings.Networks}}{{$k}}=[{{$n.IPAddress}}] {{end}}"
               "{{.NetworkSettings.Networks.web.IPAMConfig.IPv4Address}}")
        self.assertEqual(berth("inspect", "-f", fmt, "s").stdout, "db=[] web=[] 10.9.0.77\n")
        doc = berth_json("inspect", "s")
        self.assertEqual(doc["networks"], {})  # berth's own key: what it is attached to now
        self.assertEqual(sorted(doc["stopped_networks"]), ["db", "web"])
        berth("start", "s")
        self.assertEqual(berth("inspect", "-f", fmt, "s").stdout.split(" ")[:2],
                         ["db=[" + berth_json("inspect", "s")["networks"]["db"]["ip"] + "]",
                          "web=[10.9.0.77]"])
        self.assertEqual(berth_json("inspect", "s")["stopped_networks"], {})

    def test_inspect_network_address_and_json(self):
        doc = berth_json("inspect", "c1")
        ip = doc["networks"]["web"]["ip"]
        out = berth("inspect", "--format", "{{.NetworkSettings.Networks.web.IPAddress}}", "c1")
        self.assertEqual(out.stdout, ip + "\n")
        self.assertTrue(ip.startswith("10.9.0."))
        settings = json.loads(berth("inspect", "--format", "{{json .NetworkSettings}}",
                                    "c1").stdout)
        self.assertEqual(settings["Networks"]["web"]["IPAddress"], ip)
        self.assertEqual(settings["Networks"]["web"]["Gateway"], "10.9.0.1")
        self.assertEqual(settings["IPAddress"], ip)
        self.assertEqual(settings["SandboxKey"], doc["netns"]["path"])
        # berth's own keys answer too, and several names print one line each.
        berth("run", "-d", "--name", "c2", "--network", "web", "--", "sleep", "300")
        out = berth("inspect", "--format", "{{.name}} {{range .networks}}{{.ip}}{{end}}",
                    "c1", "c2").stdout.splitlines()
        self.assertEqual(len(out), 2)
        self.assertEqual(out[0], f"c1 {ip}")

    def test_ps_table_format(self):
        berth("run", "-d", "--name", "second-container", "--network", "web", "--", "sleep", "300")
        out = berth("ps", "--format", r"table {{.Names}}\t{{.Status}}").stdout.splitlines()
        self.assertEqual(out[0].split(), ["NAMES", "STATUS"])
        rows = {line.split()[0]: line for line in out[1:]}
        self.assertEqual(set(rows), {"c1", "second-container"})
        # Columns aligned: the status column starts at the same offset on every line.
        col = out[0].index("STATUS")
        self.assertEqual(col, len("second-container") + 3)
        for line in out[1:]:
            self.assertEqual(line[col:], "running")
        plain = berth("ps", "--format", "{{.ID}} {{.Names}} {{.Networks}} {{.Command}}").stdout
        cid = berth_json("inspect", "c1")["id"][:12]
        self.assertIn(f'{cid} c1 web "sleep 300"\n', plain)

    def test_network_ls_and_inspect_format(self):
        names = berth("network", "ls", "--format", "{{.Name}}").stdout.split()
        self.assertIn("web", names)
        out = berth("network", "inspect", "--format",
                    "{{range .IPAM.Config}}{{.Subnet}}{{end}} {{.Driver}}", "web").stdout
        self.assertEqual(out, "10.9.0.0/24 bridge\n")
        table = berth("network", "ls", "--format", r"table {{.Name}}\t{{.Driver}}").stdout
        self.assertEqual(table.splitlines()[0].split(), ["NAME", "DRIVER"])

    def test_template_errors(self):
        self.assertFails("inspect", "--format", "{{.State.Pid", "c1", msg="unclosed action")
        p = berth("inspect", "--format", "{{nope .X}}", "c1", check=False)
        self.assertEqual(p.returncode, 125, p.stderr)
        self.assertIn('function "nope" not defined', p.stderr)
        p = berth("ps", "--format", "bogus", check=False)
        self.assertEqual(p.returncode, 125, p.stderr)
        # A missing field prints Go's marker; an execution error fails that object.
        self.assertEqual(berth("inspect", "--format", "{{.Nope}}", "c1").stdout, "<no value>\n")
        self.assertFails("inspect", "--format", "{{index .Config.Cmd 9}}", "c1",
                         msg="index out of range")
        # Plain formats are unchanged.
        self.assertEqual(berth_json("ps", "--format", "json")[0]["name"], "c1")


if __name__ == "__main__":
    main()
