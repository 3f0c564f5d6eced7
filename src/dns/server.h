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
//    rare fallback for truncated answers), at most kMaxTcpConnections at once.
//  - Forwarding: the Forwarder's own thread.
//  - Control (Publish, SetListeners, Stats, Stop): any one thread at a time (berthd's main
//    thread).
//
// Listening uses IP_FREEBIND, so an address can be bound before (or while) its bridge has it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
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
  ForwarderOptions forwarder;
};

struct ServerStats {
  uint64_t udp_queries = 0;
  uint64_t tcp_queries = 0;
  uint64_t answered = 0;  // locally (including errors and REFUSED)
  uint64_t refused = 0;
  uint64_t formerr = 0;
  uint64_t truncated = 0;
  uint64_t send_errors = 0;
  ForwarderStats forwarder;
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

  static constexpr int kMaxTcpConnections = 64;

 private:
  struct Listener;
  struct Worker;
  explicit Server(const ServerOptions& opts);
  void AcceptLoop();
  void ServeTcp(int fd, std::shared_ptr<Listener> listener);
  void SubmitForward(std::string_view query, const Query& q, std::shared_ptr<Listener> listener,
                     int worker, const struct sockaddr_storage& client, uint32_t client_len);

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
  std::set<int> tcp_conns_;  // guarded by tcp_mu_

  std::atomic<uint64_t> tcp_queries_{0};
};

}  // namespace berth::dns
