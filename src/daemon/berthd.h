// berthd: the long-running part of berth, one per state root (DESIGN.md sections 1 and 4). Today
// it runs the embedded DNS server; the cluster agent and metrics will join it.
//
// Lifecycle: take the pid-file lock (one berthd per root), load every DNS record from the
// store, listen on the gateways of DNS-enabled networks, then open the local API socket (mode
// 0600) and report readiness (systemd sd_notify when NOTIFY_SOCKET is set). SIGTERM/SIGINT stop
// it cleanly, SIGHUP reloads.
//
// The pid file is taken with a lock the kernel drops when berthd dies (api/pid_file.h): a
// stale one, left by a berthd killed with -9, is taken over; a live berthd is never doubled.
//
// Staying current: berth calls POST /v1/reload after each change it commits (api/server.h:
// HTTP on ROOT/berthd.sock, GET /v1/status, POST /v1/reload); a client that waits for the
// answer gets it once the new records are live. As a safety net the main loop also notices
// any commit to the database (its file changes) within kPollMs and reloads, and picks up a
// changed /etc/resolv.conf.
//
// Upkeep (daemon/upkeep.h): the main loop also reconciles at start and every
// --reconcile-interval seconds, and restores berth's nftables table moments after someone
// else damaged it.
//
// Threading: the main thread takes signals and runs the safety net and the upkeep; the API
// server serves each client on a thread of its own (a slow one delays nobody); they share the
// store, the engine and the DNS server's controls under one mutex, and concurrent reload
// requests share one reload. The DNS server has its own threads (dns/server.h).
#pragma once

#include <cstdint>
#include <string>

#include "core/log.h"
#include "core/version.h"

namespace berth::daemon {

struct Options {
  std::string root;
  uint16_t port = 53;
  int workers = 0;  // 0: one per CPU, at most 4
  int upstream_timeout_ms = 1000;
  int busy_poll_us = -1;  // -1: the server's default
  std::string resolv_conf = "/etc/resolv.conf";
  int reconcile_interval_s = 30;  // 0: reconcile at start only
  log::Level log_level = log::Level::kInfo;
  std::string metrics_listen;  // "ADDR:PORT": /metrics on TCP too; empty: the API socket only
};

inline constexpr int kPollMs = 200;
inline constexpr char kVersion[] = "berthd " BERTH_VERSION;

/// Runs berthd until SIGTERM/SIGINT; returns the process exit status.
int Run(const Options& opts);

/// Parses berthd's command line (CLI11, daemon/flags.cc); returns -1 to go on, else an exit
/// status: 0 after --help or --version, 2 for bad usage.
int ParseArgs(int argc, char** argv, Options* opts);

}  // namespace berth::daemon
