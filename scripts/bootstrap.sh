#!/usr/bin/env bash
# berth's one entry point for a fresh Debian 12 machine (run as root):
#   scripts/bootstrap.sh demo    install dependencies, build, run `berth demo`
#   scripts/bootstrap.sh test    install dependencies, build (plus an ASan+UBSan build of the
#                                unit tests), run the whole suite inside a throwaway sandbox
#   scripts/bootstrap.sh build   install dependencies and build only
#   scripts/bootstrap.sh bench   also install the benchmark anchors and tools, build, and run
#                                the benchmark suite (bench/run_all.py; results in bench/results)
set -euo pipefail
cd "$(dirname "$0")/.."

# Build and runtime dependencies, and the tools the tests observe with (ip, nft, ping, ...).
PACKAGES=(
  g++ cmake ninja-build pkg-config
  libnl-3-dev libnl-route-3-dev libnftables-dev libnftnl-dev libmnl-dev libsqlite3-dev
  nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev
  iproute2 nftables iptables iputils-ping util-linux procps python3
  busybox-static dnsutils socat
  tmux                               # interactive sessions (run -it) in tests, besides script(1)
  containernetworking-plugins podman runc
  dnsmasq-base dnsperf aardvark-dns  # DNS: test upstream, benchmark client and anchors
  clang libclang-rt-dev              # libFuzzer for tests/fuzz
)

# Only for `bench`: the anchors berth is measured against (CNI reference plugins, netavark) and
# the tools of the suite and its profiles. Kept out of PACKAGES so the test run stays lean.
BENCH_PACKAGES=(
  containernetworking-plugins netavark aardvark-dns iperf3 dnsperf dnsmasq-base socat
  strace linux-perf valgrind
)

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

build() {
  echo "== building (build/)"
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C build
}

# libFuzzer targets (clang): everything instrumented, ASan+UBSan on.
build_fuzzers() {
  echo "== building fuzz targets with clang (build-fuzz/)"
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBERTH_FUZZ=ON \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
  ninja -C build-fuzz -j2 dns_wire_fuzz
}

# A bounded run from the checked-in seeds (a fresh scratch corpus each time, so runs repeat).
run_fuzzers() {
  local runs=${BERTH_FUZZ_RUNS:-1000000} corpus log
  corpus=$(mktemp -d)
  log=$(mktemp)
  echo "== fuzzing the DNS wire parser: $runs runs"
  if ! ./build-fuzz/dns_wire_fuzz -runs="$runs" -seed=1 -max_len=1500 \
      "$corpus" tests/fuzz/corpus/dns_wire >"$log" 2>&1; then
    tail -50 "$log"
    rm -rf "$corpus" "$log"
    return 1
  fi
  grep -E "^Done" "$log"
  rm -rf "$corpus" "$log"
}

build_sanitized_units() {
  echo "== building unit tests with ASan+UBSan (build-asan/)"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBERTH_SANITIZE=ON \
    -DBERTH_UNIT_ONLY=ON >/dev/null
  ninja -C build-asan berth_unit_tests
}

cmd=${1:-test}
[ "$(id -u)" -eq 0 ] || { echo "run as root: berth builds network namespaces" >&2; exit 1; }
case "$cmd" in
  build) install_deps; build ;;
  bench) install_deps "${BENCH_PACKAGES[@]}"; build; shift; bench/run_all.py "$@" ;;
  demo) install_deps; build; ./build/berth demo ;;
  test)
    install_deps
    build
    build_sanitized_units
    build_fuzzers
    run_fuzzers
    echo "== unit tests under ASan+UBSan (in a sandbox too: some open netlink sockets)"
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      tests/sandbox.sh ./build-asan/berth_unit_tests --gtest_brief=1
    echo "== full suite (unit + integration) inside a throwaway sandbox"
    tests/sandbox.sh ctest --test-dir build --output-on-failure -j2 --timeout 600
    ;;
  *) echo "usage: $0 demo|test|build|bench [run_all.py options]" >&2; exit 2 ;;
esac
