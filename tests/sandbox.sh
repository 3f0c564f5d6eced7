#!/usr/bin/env bash
# Runs a command as "the host" of DESIGN.md section 5: in a new network and mount namespace,
# with a private /run and a resolv.conf that points into the sandbox (198.51.100.53), so
# nothing a test does can reach or change this machine's own network. Nested use is fine:
# every integration test gets a sandbox of its own inside the suite's.
set -euo pipefail
if [ "${1:-}" != "--inside" ]; then
  BERTH_SANDBOX_PARENT_NETNS=$(stat -L -c %i /proc/self/ns/net)
  export BERTH_SANDBOX_PARENT_NETNS
  exec unshare --net --mount --propagation private -- "$0" --inside "$@"
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
exec "$@"
