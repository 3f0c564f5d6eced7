#include "daemon/heartbeats.h"

#include <algorithm>
#include <chrono>

#include "cluster/subnets.h"

namespace berth::daemon {

std::unique_ptr<Heartbeats> Heartbeats::Start(etcd::Options options,
                                              std::function<void()> changed) {
  std::unique_ptr<Heartbeats> h(new Heartbeats());
  h->changed_ = std::move(changed);
  // Short: a stop waits for a read in flight.
  options.timeout_ms = std::min(options.timeout_ms, kEveryMs);
  auto client = etcd::Client::Open(std::move(options));
  if (!client.ok()) return h;
  h->thread_ = std::thread([p = h.get(), c = std::move(*client)]() mutable { p->Main(std::move(c)); });
  return h;
}

Heartbeats::~Heartbeats() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::optional<std::set<std::string>> Heartbeats::Alive() const {
  std::lock_guard<std::mutex> lock(mu_);
  return alive_;
}

void Heartbeats::Main(std::unique_ptr<etcd::Client> client) {
  const std::string prefix = cluster::kAlivePrefix;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    std::optional<std::set<std::string>> alive;
    if (auto r = client->GetPrefix(prefix); r.ok()) {
      alive.emplace();
      for (const etcd::KeyValue& kv : r->kvs) alive->insert(kv.key.substr(prefix.size()));
    }
    lock.lock();
    // Unknown (a failed read) is no change: nobody is declared lost because etcd is away.
    bool changed = alive && alive_ != alive;
    alive_ = std::move(alive);
    if (changed && changed_) changed_();
    cv_.wait_for(lock, std::chrono::milliseconds(kEveryMs), [this] { return stop_; });
  }
}

}  // namespace berth::daemon
