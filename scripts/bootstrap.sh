#!/usr/bin/env bash
# berth's one entry point for a fresh Debian 12 machine (run as root):
#   scripts/bootstrap.sh demo    install dependencies, build, run `berth demo`
#   scripts/bootstrap.sh test    install dependencies, build (plus an ASan+UBSan build of the
#                                unit tests), run the whole suite inside a throwaway sandbox
#   scripts/bootstrap.sh build   install dependencies and build only
#   scripts/bootstrap.sh bench   also install the profilers, build with static dependencies
#                                (build-bench/) and run the benchmark suite (bench/run_all.py;
#                                results in bench/results)
# Every tool that a test, the bench smoke runs or the demo execs is in PACKAGES: `test` on a
# fresh machine installs all it runs.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build and runtime dependencies, and every program the tests and smoke runs exec:
#   iproute2 (ip, bridge, tc, ss), nftables (nft), iptables, iputils-ping (ping),
#   util-linux (nsenter, unshare, mount), procps (sysctl), python3, busybox-static (the
#   containers' sh, nc, wget, nslookup), dnsutils (dig), socat, podman + runc (test_podman);
#   the anchors of the smoke runs (ctest bench.smoke, bench.dns_smoke): the CNI reference
#   plugins, netavark, aardvark-dns, dnsmasq and the dnsperf client; iperf3 (data plane).
PACKAGES=(
  g++ cmake ninja-build pkg-config
  libnl-3-dev libnl-route-3-dev libnftables-dev libnftnl-dev libmnl-dev libsqlite3-dev
  nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev
  iproute2 nftables iptables iputils-ping util-linux procps python3
  busybox-static dnsutils socat
  tmux                               # interactive sessions (run -it) in tests, besides script(1)
  zsh                                # berth completion zsh is loaded by a real zsh in tests
  containernetworking-plugins podman runc netavark
  dnsmasq-base dnsperf aardvark-dns  # DNS: test upstream, benchmark client and anchors
  iperf3                             # the data-plane step of bench.smoke
  clang libclang-rt-dev              # libFuzzer for tests/fuzz
  libip4tc-dev libsystemd-dev        # src/coexist: legacy iptables, firewalld's D-Bus API
  docker.io firewalld dbus           # tests/integration/test_coexist.py (other managers)
  libcurl4-openssl-dev etcd-server etcd-client  # src/etcd: transport; its tests run an etcd
  openssl                            # src/etcd's TLS test makes its CA and certificates
  python3-prometheus-client          # test_metrics.py parses berthd's /metrics with it
  libnetfilter-conntrack-dev         # src/firewall/conntrack: a service backend's UDP flows
  libgvc6                            # berth topo --format svg (dlopened: Graphviz's library)
)

# Only for `bench`: the profilers of bench/profile_*.py, which no test runs.
BENCH_PACKAGES=(strace linux-perf valgrind)

install_deps() {
  local missing=()
  for p in "${PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The development and test build: shared libraries (as a distribution links berth), warnings
# are errors.
build() {
  echo "== building (build/)"
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBERTH_WERROR=ON >/dev/null
  ninja -C build
}

# The benchmark build: libnl, SQLite, libnftnl and libstdc++ linked statically
# (BERTH_STATIC_DEPS), fewer libraries for the loader on each exec of berth and berth-cni.
# bench/run_all.py uses it through BERTH_BUILD.
build_bench() {
  echo "== building with static dependencies (build-bench/)"
  cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBERTH_WERROR=ON \
    -DBERTH_STATIC_DEPS=ON >/dev/null
  ninja -C build-bench berth berth-cni berthd kernel_floor nft_port_delta
}

# libFuzzer targets (clang): everything instrumented, ASan+UBSan on.
build_fuzzers() {
  echo "== building fuzz targets with clang (build-fuzz/)"
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBERTH_FUZZ=ON -DBERTH_WERROR=ON \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
  ninja -C build-fuzz -j2 dns_wire_fuzz template_fuzz
}

# A bounded run of one target from its checked-in seeds (a fresh scratch corpus each time, so
# runs repeat): fuzz_one WHAT TARGET CORPUS MAX_LEN RUNS.
fuzz_one() {
  local what=$1 target=$2 seeds=$3 max_len=$4 runs=$5 corpus log
  corpus=$(mktemp -d)
  log=$(mktemp)
  echo "== fuzzing $what: $runs runs"
  if ! "./build-fuzz/$target" -runs="$runs" -seed=1 -max_len="$max_len" \
      "$corpus" "$seeds" >"$log" 2>&1; then
    tail -50 "$log"
    rm -rf "$corpus" "$log"
    return 1
  fi
  grep -E "^Done" "$log"
  rm -rf "$corpus" "$log"
}

run_fuzzers() {
  fuzz_one "the DNS wire parser" dns_wire_fuzz tests/fuzz/corpus/dns_wire 1500 \
    "${BERTH_FUZZ_RUNS:-1000000}" || return 1
  fuzz_one "the --format template engine" template_fuzz tests/fuzz/corpus/template 512 \
    "${BERTH_TEMPLATE_FUZZ_RUNS:-200000}"
}

build_sanitized() {
  echo "== building the unit tests and the binaries with ASan+UBSan (build-asan/)"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBERTH_SANITIZE=ON \
    -DBERTH_WERROR=ON >/dev/null
  ninja -C build-asan berth_unit_tests berth berth-cni berthd
}

# The integration tests that drive every engine verb, their failure paths and kill -9
# recovery, run against the sanitized binaries: a use-after-free on a rollback path shows
# here even when no unit test reaches it. (Leak checks stay with the unit tests: these
# processes exec and are killed by design.)
SANITIZED_INTEGRATION=(test_crash test_cleanup test_bad_input test_cli_args test_cni test_modes)
run_sanitized_integration() {
  echo "== integration subset against the ASan+UBSan binaries: ${SANITIZED_INTEGRATION[*]}"
  local t
  for t in "${SANITIZED_INTEGRATION[@]}"; do
    BERTH_BIN=$PWD/build-asan/berth BERTHD_BIN=$PWD/build-asan/berthd \
      BERTH_CNI_DIR=$PWD/build-asan/cni PYTHONDONTWRITEBYTECODE=1 \
      ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      tests/sandbox.sh python3 "tests/integration/$t.py" 2>&1 | tail -4
    [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "sanitized integration test $t failed" >&2; return 1; }
  done
}

cmd=${1:-test}
[ "$(id -u)" -eq 0 ] || { echo "run as root: berth builds network namespaces" >&2; exit 1; }
case "$cmd" in
  build) install_deps; build ;;
  bench)
    install_deps "${BENCH_PACKAGES[@]}"
    build_bench
    shift
    BERTH_BUILD=$PWD/build-bench BERTH_BIN=$PWD/build-bench/berth bench/run_all.py "$@"
    ;;
  demo) install_deps; build; ./build/berth demo ;;
  test)
    install_deps
    build
    build_sanitized
    build_fuzzers
    run_fuzzers
    echo "== unit tests under ASan+UBSan (in a sandbox too: some open netlink sockets)"
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      tests/sandbox.sh ./build-asan/berth_unit_tests --gtest_brief=1
    run_sanitized_integration
    echo "== full suite (unit + integration) inside a throwaway sandbox"
    tests/sandbox.sh ctest --test-dir build --output-on-failure -j2 --timeout 600
    ;;
  *) echo "usage: $0 demo|test|build|bench [run_all.py options]" >&2; exit 2 ;;
esac
