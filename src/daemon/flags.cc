// berthd's command line (CLI11). The only translation unit of the daemon that includes CLI11:
// it is slow to compile.
#include <CLI/CLI.hpp>
#include <cstdlib>

#include "daemon/berthd.h"
#include "engine/paths.h"

namespace berth::daemon {

int ParseArgs(int argc, char** argv, Options* opts) {
  CLI::App app{
      "berth's daemon: the embedded DNS server of DNS-enabled networks (and later the cluster\n"
      "agent). One per state root; `berth` starts it when needed and restarts it when it is\n"
      "gone. API: HTTP on the unix socket ROOT/berthd.sock (GET /v1/status, POST /v1/reload).\n"
      "Logs: logfmt lines on stderr.",
      "berthd"};
  app.set_version_flag("--version", kVersion);
  opts->root.clear();
  std::string level = "info";
  app.add_option("--root", opts->root, "State root (default $BERTH_ROOT, else /var/lib/berth)")
      ->envname("BERTH_ROOT");
  app.add_option("--log-level", level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  app.add_option("--workers", opts->workers, "UDP worker threads (default: one per CPU, at most 4)")
      ->check(CLI::Range(1, 64));
  app.add_option("--port", opts->port, "DNS port on each gateway")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  app.add_option("--upstream-timeout-ms", opts->upstream_timeout_ms,
                 "How long one upstream resolver has to answer")
      ->check(CLI::Range(10, 60000))
      ->capture_default_str();
  app.add_option("--resolv-conf", opts->resolv_conf, "Where the upstream resolvers are listed")
      ->capture_default_str();
  app.add_option("--busy-poll-us", opts->busy_poll_us,
                 "After a busy wake-up, poll an empty socket this long before sleeping")
      ->check(CLI::Range(0, 10000));
  app.add_option("--reconcile-interval", opts->reconcile_interval_s,
                 "Seconds between reconciles of the store and the kernel (0: at start only)")
      ->envname("BERTHD_RECONCILE_INTERVAL")
      ->check(CLI::Range(0, 86400))
      ->capture_default_str();
  app.add_option("--metrics-listen", opts->metrics_listen,
                 "Also serve Prometheus metrics (GET /metrics) on TCP ADDR:PORT, e.g. "
                 "127.0.0.1:9323");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (opts->root.empty()) opts->root = engine::kDefaultRoot;
  log::ParseLevel(level, &opts->log_level);
  return -1;
}

}  // namespace berth::daemon
