#!/usr/bin/env bash
# Runs a command as "the host" of DESIGN.md section 5: in new network, mount and PID
# namespaces, with a private /run and a resolv.conf that points into the sandbox
# (198.51.100.53), so nothing a test does can reach or change this machine's own network, and
# every process a test starts (containers, servers, monitors) ends with the sandbox: when its
# first process exits, the kernel kills the rest. Nested use is fine: every integration test
# gets a sandbox of its own inside the suite's.
set -euo pipefail
if [ "${1:-}" != "--inside" ]; then
  BERTH_SANDBOX_PARENT_NETNS=$(stat -L -c %i /proc/self/ns/net)
  export BERTH_SANDBOX_PARENT_NETNS
  exec unshare --net --mount --pid --fork --mount-proc --propagation private -- "$0" --inside "$@"
fi
shift
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/netns /run/sandbox
echo "nameserver 198.51.100.53" > /run/sandbox/resolv.conf
# /etc/resolv.conf may be a symlink into /run (systemd-resolved): give it a target first.
target=$(readlink -f /etc/resolv.conf)
[ -e "$target" ] || { mkdir -p "$(dirname "$target")"; touch "$target"; }
mount --bind /run/sandbox/resolv.conf "$target"
ip link set lo up
# Not exec: this shell stays PID 1 of the sandbox and reaps the orphans (detached containers'
# monitors) that the kernel hands to it.
"$@" &
wait $!
