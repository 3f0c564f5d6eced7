// Which cluster nodes are alive (their heartbeat key alive/NAME is in etcd), read by berthd on a
// thread of its own every kEveryMs while the cluster agent runs. The agent programs peers from
// the node records, which outlive a dead node; readiness is the heartbeat, as `berth node ls`
// shows it. berthd turns it into the berth_cluster_peers_ready gauge and the "node lost" and
// "node ready" events. A read that fails leaves the answer unknown (nullopt): nobody is
// declared lost because etcd is away.
//
// Thread-safe: Alive() from any thread; the destructor stops and joins the thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "etcd/client.h"

namespace berth::daemon {

class Heartbeats {
 public:
  static constexpr int kEveryMs = 1000;

  /// Starts polling; a client that cannot be made (no libcurl) leaves Alive() unknown.
  /// `changed` is called (on the polling thread; it must not block) when the set of nodes
  /// alive changed: a dead node's containers stop being service backends then.
  static std::unique_ptr<Heartbeats> Start(etcd::Options options,
                                           std::function<void()> changed = {});
  ~Heartbeats();
  Heartbeats(const Heartbeats&) = delete;
  Heartbeats& operator=(const Heartbeats&) = delete;

  /// The nodes alive at the last read; nullopt before the first one and after a failed one.
  std::optional<std::set<std::string>> Alive() const;

 private:
  Heartbeats() = default;
  void Main(std::unique_ptr<etcd::Client> client);

  std::function<void()> changed_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                           // guarded by mu_
  std::optional<std::set<std::string>> alive_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace berth::daemon
