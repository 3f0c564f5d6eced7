// Server: the DNS server of berthd. Listens on a set of addresses (the gateways of DNS-enabled
// networks), port 53, UDP and TCP, and answers from the published Table; what is not ours goes
// to the Forwarder.
//
// Threading model:
//  - UDP: `workers` threads. Each has its own epoll set and its own socket per listening
//    address (SO_REUSEPORT, so the kernel spreads clients over workers), receives in batches
//    with recvmmsg, answers into preallocated buffers and replies with one sendmmsg. The table
//    is loaded once per batch from an atomic shared_ptr, so a reload is one pointer swap that
//    never blocks or drops a query. Nothing on this path allocates or takes a lock.
//  - TCP: one acceptor thread; each connection is served by a short-lived thread (TCP is the
//    rare fallback for truncated answers), at most kMaxTcpConnections at once and
//    `tcp_per_source` per client address. A source the server would refuse (neither a
//    container of a DNS network nor the host asking a gateway) is closed at accept, and after
//    a REFUSED answer should the table change meanwhile. A client has `tcp_idle_ms` to deliver
//    each whole query (from its connect, then from the last answer): a slow sender (one byte
//    every few seconds) holds a slot that long at most, and never anyone else's.
//  - Forwarding: the Forwarder's own thread.
//  - Control (Publish, SetListeners, Stats, Stop): any one thread at a time (berthd's main
//    thread).
//
// Listening uses IP_FREEBIND, so an address can be bound before (or while) its bridge has it.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/ip.h"
#include "dns/forwarder.h"
#include "dns/table.h"
#include "sys/fd.h"

namespace berth::dns {

struct ServerOptions {
  uint16_t port = 53;
  int workers = 0;  // 0: one per CPU, at most 4
  int batch = 64;   // datagrams per recvmmsg
  /// After a busy wake-up, keep polling an empty socket this long before sleeping (0: never).
  int busy_poll_us = 0;
  /// TCP: time to deliver a whole query (and to take an answer) before the connection closes.
  int tcp_idle_ms = 2000;
  /// TCP: connections at once from one source address.
  int tcp_per_source = 8;
  ForwarderOptions forwarder;
};

/// Answers are counted by query type (these rows) and rcode (0-15), for berthd's metrics.
inline constexpr const char* kQtypeNames[] = {"A", "AAAA", "PTR", "other"};
inline constexpr size_t kQtypeSlots = 4, kRcodeSlots = 16;
size_t QtypeSlot(uint16_t qtype);

/// Query durations (from the query read to its answer sent) go in buckets with these upper
/// bounds, in nanoseconds; the last bucket holds the rest.
inline constexpr uint64_t kLatencyBoundsNs[] = {
    25'000,     50'000,     100'000,     250'000,     500'000,       1'000'000,
    2'500'000,  5'000'000,  10'000'000,  25'000'000,  100'000'000,   250'000'000,
    1'000'000'000, 2'500'000'000};
inline constexpr size_t kLatencyBuckets = std::size(kLatencyBoundsNs) + 1;

struct LatencyStats {
  std::array<uint64_t, kLatencyBuckets> buckets{};  // not cumulative
  uint64_t sum_ns = 0;
};

/// Which way a query came and who answered it: the rows of ServerStats::latency.
enum class QueryPath { kUdpLocal, kUdpForwarded, kTcpLocal, kTcpForwarded };
inline constexpr size_t kQueryPaths = 4;

/// Answers and durations of one QueryPath, counted by any thread (relaxed atomics).
struct QueryCounters {
  std::array<std::atomic<uint64_t>, kQtypeSlots * kRcodeSlots> by_type_rcode{};
  std::array<std::atomic<uint64_t>, kLatencyBuckets> latency{};
  std::atomic<uint64_t> latency_sum_ns{0};

  void Answered(uint16_t qtype, uint8_t rcode) {
    by_type_rcode[QtypeSlot(qtype) * kRcodeSlots + (rcode & 0xf)].fetch_add(
        1, std::memory_order_relaxed);
  }
  /// `count` queries that took `ns` each (a UDP batch is answered at once).
  void Took(uint64_t ns, uint64_t count = 1);
};

struct ServerStats {
  uint64_t udp_queries = 0;
  uint64_t tcp_queries = 0;
  uint64_t answered = 0;  // locally (including errors and REFUSED)
  uint64_t refused = 0;
  uint64_t formerr = 0;
  uint64_t truncated = 0;
  uint64_t send_errors = 0;
  uint64_t tcp_rejected = 0;  // closed at accept: a refused source, or over a limit
  uint64_t tcp_timeouts = 0;  // closed for not delivering a whole query in time
  ForwarderStats forwarder;
  /// [QtypeSlot(qtype) * kRcodeSlots + rcode]: answers over UDP and over TCP, local and
  /// forwarded alike (a forwarded one with the upstream's rcode).
  std::array<uint64_t, kQtypeSlots * kRcodeSlots> by_type_rcode{}, tcp_by_type_rcode{};
  /// By QueryPath.
  std::array<LatencyStats, kQueryPaths> latency{};
};

class Server {
 public:
  static Result<std::unique_ptr<Server>> Start(const ServerOptions& opts);
  ~Server();

  /// Makes `table` the one every following query is answered from.
  void Publish(std::shared_ptr<const Table> table);
  std::shared_ptr<const Table> table() const { return table_.load(); }

  /// Listens on exactly `addrs` (opening new ones, closing the rest). Returns the addresses that
  /// could not be opened, with the reason; they are retried at the next call.
  std::vector<std::pair<IpAddr, Error>> SetListeners(const std::vector<IpAddr>& addrs);
  std::vector<IpAddr> Listening() const;

  Forwarder& forwarder() { return *forwarder_; }
  ServerStats Stats() const;
  int workers() const { return static_cast<int>(workers_.size()); }

  /// Closes every socket and joins every thread. Idempotent.
  void Stop();

  static constexpr int kMaxTcpConnections = 128;

 private:
  struct Listener;
  struct Worker;
  explicit Server(const ServerOptions& opts);
  void AcceptLoop();
  void AcceptTcp(const std::shared_ptr<Listener>& l);
  void ServeTcp(int fd, IpAddr source, std::shared_ptr<Listener> listener);
  void SubmitForward(std::string_view query, const Query& q, std::shared_ptr<Listener> listener,
                     int worker, const struct sockaddr_storage& client, uint32_t client_len,
                     std::chrono::steady_clock::time_point received);

  ServerOptions opts_;
  std::atomic<std::shared_ptr<const Table>> table_;
  std::unique_ptr<Forwarder> forwarder_;
  std::vector<std::unique_ptr<Worker>> workers_;

  // Listeners by address; the main thread changes the map, the acceptor reads it.
  mutable std::mutex mu_;
  std::map<IpAddr, std::shared_ptr<Listener>> listeners_;
  std::map<uint64_t, std::shared_ptr<Listener>> by_tcp_id_;
  uint64_t next_tcp_id_ = 1;

  sys::Fd accept_epoll_, accept_wake_;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};
  std::mutex tcp_mu_;
  std::condition_variable tcp_cv_;
  std::set<int> tcp_conns_;                // guarded by tcp_mu_
  std::map<IpAddr, int> tcp_per_source_;  // guarded by tcp_mu_

  std::atomic<uint64_t> tcp_queries_{0}, tcp_rejected_{0}, tcp_timeouts_{0};
  // UDP local answers are counted by their worker.
  QueryCounters udp_forwarded_, tcp_local_, tcp_forwarded_;
};

}  // namespace berth::dns
