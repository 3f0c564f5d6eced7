// Forwarder: asks the upstream resolvers (the host's /etc/resolv.conf) what berthd does not
// know. Each query goes out with a fresh random ID on its own connected UDP socket (a random
// source port), is retried over TCP when the answer comes back truncated, and moves on to the
// next upstream after a timeout; when every upstream failed the client gets SERVFAIL.
//
// Threading: one thread runs an epoll loop over the in-flight queries. Submit() and
// SetUpstreams() may be called from any thread; `done` callbacks run on the forwarder thread.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/ip.h"
#include "sys/fd.h"

namespace berth::dns {

struct ForwarderOptions {
  int attempt_timeout_ms = 1000;  // per upstream and transport
  size_t max_in_flight = 4096;    // beyond this, Submit() refuses
};

struct ForwarderStats {
  uint64_t forwarded = 0;  // queries submitted
  uint64_t answered = 0;   // answered by an upstream
  uint64_t tcp_retries = 0;
  uint64_t failed = 0;  // SERVFAIL after every upstream failed (or none configured)
};

class Forwarder {
 public:
  /// Receives the upstream's reply with the client's ID restored, or a SERVFAIL built from the
  /// query. Called exactly once per accepted Submit(), unless the forwarder stops first.
  using Done = std::function<void(std::string_view reply)>;

  static Result<std::unique_ptr<Forwarder>> Start(const ForwarderOptions& opts);
  ~Forwarder();

  /// Upstream resolvers (port 53 unless given), tried in order.
  void SetUpstreams(std::vector<std::pair<IpAddr, uint16_t>> upstreams);
  std::vector<std::pair<IpAddr, uint16_t>> upstreams() const;

  /// Queues `query` (a whole, well-formed query message). False when too many are in flight.
  bool Submit(std::string_view query, Done done);

  ForwarderStats Stats() const;
  void Stop();

 private:
  struct Job;
  explicit Forwarder(const ForwarderOptions& opts);
  void Run();
  void StartAttempt(Job& job);
  void OnEvent(Job& job, uint32_t events);
  void Finish(Job& job, std::string_view reply);
  void Fail(Job& job);
  bool NextUpstream(Job& job);

  ForwarderOptions opts_;
  sys::Fd epoll_, wake_;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  mutable std::mutex mu_;  // guards upstreams_ and incoming_
  std::vector<std::pair<IpAddr, uint16_t>> upstreams_;
  std::vector<std::unique_ptr<Job>> incoming_;
  std::atomic<size_t> in_flight_{0};

  // Forwarder thread only.
  std::vector<std::unique_ptr<Job>> jobs_;
  uint64_t rng_ = 0;

  std::atomic<uint64_t> forwarded_{0}, answered_{0}, tcp_retries_{0}, failed_{0};
};

/// Nameservers of a resolv.conf text, in order.
std::vector<IpAddr> ParseResolvConfNameservers(std::string_view text);

}  // namespace berth::dns
