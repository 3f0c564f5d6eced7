// Services across hosts: the cluster's services (services/NAME, cluster/services.h) come from
// the agent's watch into memory, where berthd reads them to program its local copy.
#include "cluster/agent.h"
#include "cluster/services.h"
#include "core/log.h"

namespace berth::cluster {

std::optional<std::vector<Service>> Agent::ClusterServices() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!services_listed_) return std::nullopt;
  std::vector<Service> out;
  out.reserve(services_.size());
  for (const auto& [key, s] : services_) out.push_back(s);
  return out;
}

void Agent::OnServiceEvent(const etcd::WatchEvent& ev, bool* changed) {
  const std::string& key = ev.kv.key;
  std::lock_guard<std::mutex> lock(mu_);
  if (ev.type == etcd::WatchEvent::Type::kDelete) {
    *changed |= services_.erase(key) > 0;
    return;
  }
  auto s = ParseService(ev.kv.value);
  if (!s.ok()) {
    log::Warn("cluster agent: ignoring a bad service record",
              {{"key", key}, {"error", s.error().message()}});
    return;
  }
  services_[key] = std::move(*s);
  *changed = true;
}

}  // namespace berth::cluster
