#include "cluster/local.h"

#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "sys/proc.h"

namespace berth::cluster {

using nlohmann::json;

std::string LocalStatePath(const std::string& root) { return root + "/cluster.json"; }

std::string ToJson(const LocalState& s) {
  return json{{"etcd",
               {{"endpoints", s.etcd.endpoints},
                {"prefix", s.etcd.prefix},
                {"cacert", s.etcd.cacert},
                {"cert", s.etcd.cert},
                {"key", s.etcd.key}}},
              {"node", s.node},
              {"node_ip", s.node_ip.ToString()},
              {"iface", s.iface},
              {"mtu", s.mtu},
              {"subnet", s.subnet.ToString()},
              {"host_id", s.host_id}}
             .dump(2) +
         "\n";
}

Result<LocalState> ParseLocalState(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Error::Invalid("cluster.json is not a JSON object");
  LocalState s;
  try {
    const json& e = j.at("etcd");
    s.etcd.endpoints = e.at("endpoints").get<std::vector<std::string>>();
    s.etcd.prefix = e.value("prefix", std::string("/berth"));
    s.etcd.cacert = e.value("cacert", std::string());
    s.etcd.cert = e.value("cert", std::string());
    s.etcd.key = e.value("key", std::string());
    s.node = j.at("node").get<std::string>();
    BERTH_ASSIGN_OR_RETURN(s.node_ip, IpAddr::Parse(j.at("node_ip").get<std::string>()));
    s.iface = j.value("iface", std::string());
    s.mtu = j.value("mtu", 0);
    BERTH_ASSIGN_OR_RETURN(s.subnet, Cidr::ParseNetwork(j.at("subnet").get<std::string>()));
    s.host_id = j.value("host_id", std::string());
  } catch (const json::exception& ex) {
    return Error::Invalid(std::string("cluster.json: ") + ex.what());
  }
  return s;
}

Result<LocalState> ReadLocalState(const std::string& root) {
  std::string path = LocalStatePath(root);
  if (::access(path.c_str(), F_OK) != 0) {
    return Error::NotFound("this host is not in a cluster (no " + path +
                           "): run `berth cluster join` first");
  }
  BERTH_ASSIGN_OR_RETURN(std::string text, sys::ReadFile(path));
  auto s = ParseLocalState(text);
  if (!s.ok()) return std::move(s).error().Wrap(path);
  return s;
}

Status WriteLocalState(const std::string& root, const LocalState& s) {
  return sys::WriteFileAtomic(LocalStatePath(root), ToJson(s), 0600);
}

Status RemoveLocalState(const std::string& root) {
  std::string path = LocalStatePath(root);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Error::System("unlink " + path, errno);
  return Ok();
}

std::string FencePath(const std::string& root) { return root + "/cluster.fenced"; }

std::optional<FenceRecord> ReadFence(const std::string& root) {
  auto text = sys::ReadFile(FencePath(root));
  if (!text.ok()) return std::nullopt;
  json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  FenceRecord f;
  f.reason = j.value("reason", std::string());
  f.removed = j.value("removed", false);
  return f;
}

Status WriteFence(const std::string& root, const FenceRecord& f) {
  return sys::WriteFileAtomic(FencePath(root),
                              json{{"reason", f.reason}, {"removed", f.removed}}.dump());
}

Status RemoveFence(const std::string& root) {
  std::string path = FencePath(root);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Error::System("unlink " + path, errno);
  return Ok();
}

}  // namespace berth::cluster
