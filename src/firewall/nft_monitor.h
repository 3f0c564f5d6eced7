// NftMonitor: watches nf_tables events (NFNLGRP_NFTABLES) for deletions and flushes of berth's
// objects by anyone else, so berthd can restore its table within moments of an `nft flush
// ruleset`, a `delete table inet berth` or a flushed chain or set, without waiting for the
// next command.
//
// The kernel announces each committed transaction as its object events followed by one
// NEWGEN message naming the process that committed it (NFTA_GEN_PROC_PID/_NAME). A
// transaction is foreign unless that process is this one or one of berth's own binaries,
// told by command name (the kernel reports the pid as seen from the initial PID namespace, so
// inside a PID namespace, as in tests/sandbox.sh, only the name matches; checked on 6.18): their deletions are berth's own teardown, and berthd's repairs must not trigger
// another repair. Rules deleted in the admins' chain (`user`) are theirs to change.
//
// Drain() is level-triggered and debounced: however many events arrived (a flush of a
// thousand elements), it reports one "verify now". A lost event (the socket overran, ENOBUFS)
// also asks for a verification, since berth cannot know what it missed. Drain() says "maybe
// damaged"; nft_verify.h says what is missing: a false alarm costs one verification, never a
// rebuild.
//
// Not thread-safe: one owner, typically berthd's poll loop.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "firewall/nfnl_socket.h"

struct nlmsghdr;

namespace berth::firewall {

struct MonitorOptions {
  std::string table = "berth";  // family inet
  /// Chains whose rules belong to admins: rule deletions there are not damage.
  std::vector<std::string> admin_chains = {"user"};
  /// Processes whose transactions are berth's own (kernel comm names, at most 15 bytes). The
  /// monitor's own process is always included.
  std::vector<std::string> own_processes = {"berth", "berthd", "berth-cni"};
  /// Socket receive buffer: a flush of a large set queues one event per element.
  int receive_buffer = 8 << 20;
};

struct MonitorStats {
  uint64_t transactions = 0;    // NEWGEN messages seen
  uint64_t foreign_damage = 0;  // foreign transactions that deleted or flushed berth objects
  uint64_t own_ignored = 0;     // berth's own transactions touching berth's objects
  uint64_t overruns = 0;        // ENOBUFS: events were lost
};

class NftMonitor {
 public:
  static Result<NftMonitor> Open(MonitorOptions options = {});

  /// For poll(2)/epoll: readable when events are queued.
  int fd() const { return socket_.fd(); }

  /// Reads every queued event without blocking. True when, since the last call, a foreign
  /// transaction deleted or flushed one of berth's objects or events were lost: verify the
  /// table (and restore it). Errors are the socket's own (not ENOBUFS, not EAGAIN).
  Result<bool> Drain();

  const MonitorStats& stats() const { return stats_; }

  /// Feeds one message as if read from the socket (tests).
  void HandleMessage(const nlmsghdr* nlh);

 private:
  NftMonitor(NfnlSocket socket, MonitorOptions options);
  bool OwnProcess(uint32_t pid, std::string_view name) const;

  NfnlSocket socket_;
  MonitorOptions options_;
  uint32_t own_pid_;
  bool pending_ = false;  // the current transaction touched berth's objects
  bool damaged_ = false;  // reported by the next Drain()
  MonitorStats stats_;
  std::vector<char> buf_;  // one event is at most a page; 64 KiB takes a burst per read
};

}  // namespace berth::firewall
