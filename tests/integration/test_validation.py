"""Inputs that would break the host or berth's own state, refused at once with a message that
says why: a damaged or missing state store (never a wait, never a silent fresh start), and a
CNI_NETNS that is not a container's network namespace. Bad ranges and ports are in
test_bad_input.py."""

import json
import os
import shutil
import time

from harness import ROOT, BerthTest, berth, main, root_mounts, stop_berthd
from cni_runtime import REFERENCE_PLUGIN_DIR, Runtime

CNI_DIR = os.environ.get("BERTH_CNI_DIR",
                         os.path.join(os.path.dirname(__file__), "../../build/cni"))
RT = Runtime([CNI_DIR, REFERENCE_PLUGIN_DIR])
DB = os.path.join(ROOT, "berth.db")
POINTER = "run `berth system reconcile --rebuild-state`"


class StoreDamageTest(BerthTest):
    def setUp(self):
        super().setUp()
        berth("network", "create", "web", "--subnet", "172.25.0.0/16")
        berth("run", "-d", "--name", "a", "--network", "web", "-p", "8080:80", "--",
              "sleep", "300")
        berth("ps")  # a reader: the WAL index (-shm) exists as it does on a used root
        stop_berthd()  # nobody holds the database open while it is damaged and restored
        self.saved = {}
        for suffix in ("", "-wal"):
            if os.path.exists(DB + suffix):
                self.saved[suffix] = DB + suffix + ".saved"
                shutil.copyfile(DB + suffix, self.saved[suffix])

    def tearDown(self):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(DB + suffix):
                os.unlink(DB + suffix)
        for suffix, copy in self.saved.items():
            os.replace(copy, DB + suffix)
        self.assertIn("a", berth("ps").stdout, "restored")
        super().tearDown()

    def assertDamaged(self, reason, *args):
        t = time.monotonic()
        p = self.assertFails(*(args or ("ps",)), msg=(f"state store damaged: {DB}: {reason}",
                                                        POINTER))
        self.assertLess(time.monotonic() - t, 5, "said at once, not after the busy timeout")
        return p

    def test_a_truncated_database(self):
        with open(DB, "w"):
            pass
        self.assertDamaged("the database file is empty (0 bytes)")
        self.assertDamaged("the database file is empty", "network", "create", "x")
        self.assertDamaged("the database file is empty", "run", "--rm", "--", "true")
        self.assertEqual(os.path.getsize(DB), 0, "left as it was")

    def test_a_database_that_is_something_else(self):
        with open(DB, "w") as f:
            f.write("{\"this\": \"is not sqlite\"}\n" * 10)
        self.assertDamaged("not an SQLite database (260 bytes)")

    def test_a_deleted_write_ahead_log(self):
        self.assertTrue(os.path.exists(DB + "-shm"))
        os.unlink(DB + "-wal")
        self.assertDamaged(f"its write-ahead log {DB}-wal was deleted")
        self.assertFalse(os.path.exists(DB + "-wal"), "not recreated empty")

    def test_a_deleted_database_while_containers_exist(self):
        for suffix in ("", "-wal", "-shm"):
            os.unlink(DB + suffix)
        p = self.assertDamaged("the database is missing but berth's objects exist")
        self.assertIn("under the root", p.stderr)
        self.assertIn("container director", p.stderr)
        # Nothing started over: no new database, the container's port 8080 not handed out again.
        self.assertFails("run", "-d", "--name", "b", "-p", "8080:80", "--", "sleep", "300",
                         msg="state store damaged")
        self.assertFalse(os.path.exists(DB))
        self.assertTrue(root_mounts())


class CniNetnsTest(BerthTest):
    def conf(self):
        return {"cniVersion": "1.0.0", "name": "cninet", "type": "berth", "root": ROOT,
                "ipam": {"subnet": "10.123.0.0/24"}}

    def assertCniError(self, code, text, netns):
        rc, doc, out, err = RT.exec("berth", "ADD", self.conf(), container_id="c1", netns=netns,
                                    ifname="eth0")
        self.assertNotEqual(rc, 0, out)
        self.assertIsInstance(doc, dict, f"error document on stdout: {out!r} {err}")
        self.assertEqual(doc["code"], code, out)
        self.assertIn(text, json.dumps(doc))

    def test_a_namespace_of_another_kind_is_invalid_environment(self):
        for ns in ("/proc/self/ns/mnt", "/proc/self/ns/uts", "/proc/1/ns/pid"):
            with self.subTest(netns=ns):
                self.assertCniError(4, "not a network namespace", ns)

    def test_the_hosts_own_network_namespace_is_refused(self):
        for ns in ("/proc/self/ns/net", "/proc/1/ns/net"):
            with self.subTest(netns=ns):
                self.assertCniError(4, "is the host's own network namespace", ns)
        self.assertNotIn("cninet", berth("network", "ls").stdout, "nothing made")


if __name__ == "__main__":
    main()
