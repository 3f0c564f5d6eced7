// Names across hosts: this node's containers on the cluster network go to etcd under
// names/NODE/IP (the names thread, again after an outage), the other nodes' come from the watch
// into memory (remote_names_), where berthd's DNS reads them.
#include <nlohmann/json.hpp>

#include "cluster/agent.h"
#include "core/log.h"

namespace berth::cluster {

void Agent::SetLocalNames(std::vector<NameRecord> records) {
  std::map<std::string, std::string> wanted;
  for (const NameRecord& r : records) {
    nlohmann::json v = {{"ip", r.ip.ToString()}, {"names", r.names}};
    if (!r.labels.empty()) v["labels"] = r.labels;
    wanted[kNamesPrefix + local_.node + "/" + r.ip.ToString()] = v.dump();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (wanted == local_names_) return;
    local_names_ = std::move(wanted);
  }
  {
    std::lock_guard<std::mutex> lock(sleep_mu_);
    names_dirty_ = true;
  }
  sleep_cv_.notify_all();
}

std::vector<NameRecord> Agent::RemoteNames() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<NameRecord> out;
  out.reserve(remote_names_.size());
  for (const auto& [key, r] : remote_names_) out.push_back(r);
  return out;
}

void Agent::OnNameEvent(const etcd::WatchEvent& ev, bool* names_changed) {
  const std::string& key = ev.kv.key;
  bool put = ev.type == etcd::WatchEvent::Type::kPut;
  // names/NODE/IP: another node's container; ours are served from the local store.
  std::string rest = key.substr(std::string_view(kNamesPrefix).size());
  std::string node = rest.substr(0, rest.find('/'));
  if (node == local_.node) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (!put) {
    *names_changed |= remote_names_.erase(key) > 0;
    return;
  }
  nlohmann::json j = nlohmann::json::parse(ev.kv.value, nullptr, false);
  NameRecord r;
  r.node = node;
  auto ip = IpAddr::Parse(j.is_object() ? j.value("ip", std::string()) : std::string());
  if (!ip.ok() || !j.contains("names") || !j["names"].is_array()) return;
  r.ip = *ip;
  for (const auto& n : j["names"]) {
    if (n.is_string()) r.names.push_back(n.get<std::string>());
  }
  if (j.contains("labels") && j["labels"].is_object()) {
    for (const auto& [k, v] : j["labels"].items()) {
      if (v.is_string()) r.labels[k] = v.get<std::string>();
    }
  }
  auto it = remote_names_.find(key);
  if (it != remote_names_.end() && it->second == r) return;
  remote_names_[key] = std::move(r);
  *names_changed = true;
}

void Agent::NamesMain() {
  bool retry = true;  // the first sync: whatever the local store holds now
  while (!stop_) {
    {
      std::unique_lock<std::mutex> lock(sleep_mu_);
      sleep_cv_.wait_for(lock, std::chrono::milliseconds(retry ? 1000 : 60000),
                         [this] { return stop_ || names_dirty_; });
      if (stop_) break;
      names_dirty_ = false;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (status_.fenced) {  // a fenced node publishes no names
        retry = true;
        continue;
      }
    }
    if (names_resync_.exchange(false)) registered_.reset();
    berth::Status st = SyncNames();
    retry = !st.ok();
    if (retry) {
      registered_.reset();  // read back what etcd holds once it answers again
      log::Debug("cluster agent: names: " + st.error().message());
    }
  }
}

berth::Status Agent::SyncNames() {
  const std::string mine = kNamesPrefix + local_.node + "/";
  if (!registered_) {
    BERTH_ASSIGN_OR_RETURN(etcd::RangeResult r, client_->GetPrefix(mine));
    registered_.emplace();
    for (const auto& kv : r.kvs) (*registered_)[kv.key] = kv.value;
  }
  std::map<std::string, std::string> wanted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    wanted = local_names_;
  }
  for (const auto& [key, value] : wanted) {
    auto it = registered_->find(key);
    if (it != registered_->end() && it->second == value) continue;
    auto put = client_->Put(key, value);
    if (!put.ok()) return std::move(put).error();
    (*registered_)[key] = value;
  }
  for (auto it = registered_->begin(); it != registered_->end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    auto del = client_->Delete(it->first);
    if (!del.ok()) return std::move(del).error();
    it = registered_->erase(it);
  }
  return Ok();
}

}  // namespace berth::cluster
