#!/usr/bin/env bash
# The DNS benchmark (bench/dns/bench.py --help), inside a throwaway sandbox (tests/sandbox.sh):
#   bench/dns/run.sh                                  # 100 names, 20 s per server, JSON in results/
#   bench/dns/run.sh --rounds 3 --churn 100           # 3 alternating rounds + berthd under churn
# Build first (scripts/bootstrap.sh build); needs dnsperf, dnsmasq-base and aardvark-dns.
# Run it on an otherwise idle machine: the numbers are whole-box (client and server share it).
set -euo pipefail
cd "$(dirname "$0")/../.."
out="bench/dns/results/$(date -u +%Y%m%dT%H%M%SZ).json"
has_out=0
for a in "$@"; do [ "$a" = "--out" ] && has_out=1; done
if [ "$has_out" = 0 ]; then set -- --out "$out" "$@"; fi
exec tests/sandbox.sh /usr/bin/python3 bench/dns/bench.py "$@"
