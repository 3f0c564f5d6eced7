"""`berth demo`: seed 001's topology built for real in throwaway namespaces; the host (here the
sandbox) is not touched."""

import os
import re

from harness import BERTH, BerthTest, main, root_mounts, run, state_snapshot


class DemoTest(BerthTest):
    def test_demo_succeeds_and_leaves_the_host_alone(self):
        before = state_snapshot()
        with open("/proc/self/mountinfo") as f:
            mounts_before = f.read()
        p = run([BERTH, "demo"], check=False, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("demo: OK", p.stdout)
        # Both pings, each way, lost nothing ("100% packet loss" must not pass for "0%").
        losses = re.findall(r"(\d+)% packet loss", p.stdout)
        self.assertEqual(losses, ["0", "0"], p.stdout)
        self.assertEqual(len(re.findall(r"3 packets transmitted, 3 received", p.stdout)), 2)
        # The pairing of host veths and container eth0s is shown.
        self.assertRegex(p.stdout, r"host veth[0-9a-f]{11} \(ifindex \d+\) <-> ubuntu-1 eth0")
        self.assertRegex(p.stdout, r"host veth[0-9a-f]{11} \(ifindex \d+\) <-> ubuntu-2 eth0")
        # Nothing in the calling namespace changed: links, addresses, routes, mounts, state.
        self.assertUnchanged(before, "berth demo")
        with open("/proc/self/mountinfo") as f:
            self.assertEqual(f.read(), mounts_before)
        self.assertFalse(os.path.exists("/run/berth-demo"))
        self.assertEqual(root_mounts(), before["mounts"])

    def test_demo_does_not_need_or_touch_the_state_root(self):
        p = run([BERTH, "--root", "/nonexistent/berth", "demo"], check=False, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertFalse(os.path.exists("/nonexistent"))


if __name__ == "__main__":
    main()
