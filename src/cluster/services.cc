#include "cluster/services.h"

#include <nlohmann/json.hpp>

namespace berth::cluster {

namespace {

using nlohmann::json;

const char* ProtoName(Protocol p) { return p == Protocol::kUdp ? "udp" : "tcp"; }

Protocol ProtoOf(const json& j) {
  return j.value("protocol", std::string("tcp")) == "udp" ? Protocol::kUdp : Protocol::kTcp;
}

}  // namespace

std::string ServiceKey(const std::string& name) { return kServicesPrefix + name; }
std::string VipKey(const IpAddr& vip) { return kVipsPrefix + vip.ToString(); }

std::string ServiceToJson(const Service& s) {
  json ports = json::array(), publish = json::array();
  for (const ServicePort& p : s.ports) {
    ports.push_back(
        {{"port", p.port}, {"target_port", p.target_port}, {"protocol", ProtoName(p.protocol)}});
  }
  for (const ServicePublish& p : s.publish) {
    publish.push_back(
        {{"host_port", p.host_port}, {"port", p.port}, {"protocol", ProtoName(p.protocol)}});
  }
  json j = {{"id", s.id},
            {"name", s.name},
            {"network", s.network_name},
            {"vip", s.vip.ToString()},
            {"selector", s.selector},
            {"ports", std::move(ports)},
            {"balance", s.round_robin ? "round-robin" : "random"},
            {"affinity", s.affinity},
            {"publish", std::move(publish)},
            {"created", s.created}};
  return j.dump();
}

Result<Service> ParseService(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("id") || !j["id"].is_string() || !j.contains("name") ||
      !j["name"].is_string()) {
    return Error::Invalid("not a service record");
  }
  Service s;
  s.id = j["id"].get<std::string>();
  s.name = j["name"].get<std::string>();
  s.network_name = j.value("network", std::string());
  BERTH_ASSIGN_OR_RETURN(s.vip, IpAddr::Parse(j.value("vip", std::string())));
  if (j.contains("selector") && j["selector"].is_object()) {
    for (const auto& [k, v] : j["selector"].items()) {
      if (v.is_string()) s.selector[k] = v.get<std::string>();
    }
  }
  if (j.contains("ports") && j["ports"].is_array()) {
    for (const json& p : j["ports"]) {
      if (!p.is_object()) continue;
      ServicePort sp;
      sp.port = p.value("port", uint16_t{0});
      sp.target_port = p.value("target_port", sp.port);
      sp.protocol = ProtoOf(p);
      s.ports.push_back(sp);
    }
  }
  if (j.contains("publish") && j["publish"].is_array()) {
    for (const json& p : j["publish"]) {
      if (!p.is_object()) continue;
      s.publish.push_back(
          {p.value("host_port", uint16_t{0}), p.value("port", uint16_t{0}), ProtoOf(p)});
    }
  }
  s.round_robin = j.value("balance", std::string()) == "round-robin";
  s.affinity = j.value("affinity", uint32_t{0});  // records from before affinity: none
  s.created = j.value("created", int64_t{0});
  if (s.selector.empty() || s.ports.empty()) return Error::Invalid("service record incomplete");
  return s;
}

Result<int64_t> PutService(etcd::Client& client, const Service& s) {
  const std::string key = ServiceKey(s.name), vip = VipKey(s.vip);
  BERTH_ASSIGN_OR_RETURN(
      etcd::TxnResult r,
      client.Txn({etcd::Compare::Absent(key), etcd::Compare::Absent(vip)},
                 {etcd::TxnOp::Put(key, ServiceToJson(s)), etcd::TxnOp::Put(vip, s.name)},
                 {etcd::TxnOp::Get(key), etcd::TxnOp::Get(vip)}));
  if (r.succeeded) return r.revision;
  if (r.gets.size() == 2 && !r.gets[0].kvs.empty()) {
    return Error::Exists("service " + s.name + " already exists in the cluster");
  }
  std::string holder =
      r.gets.size() == 2 && !r.gets[1].kvs.empty() ? r.gets[1].kvs[0].value : "?";
  return Error::InUse("--vip " + s.vip.ToString() + " is used by cluster service " + holder);
}

Result<int64_t> DeleteService(etcd::Client& client, const Service& s) {
  const std::string key = ServiceKey(s.name), vip = VipKey(s.vip);
  BERTH_ASSIGN_OR_RETURN(etcd::RangeResult now, client.Get(key));
  if (now.kvs.empty()) return int64_t{0};
  auto theirs = ParseService(now.kvs[0].value);
  if (theirs.ok() && theirs->id != s.id) return int64_t{0};  // a newer service of that name
  // Only while it is still what was read: a create of the same name meanwhile stays.
  BERTH_ASSIGN_OR_RETURN(
      etcd::TxnResult r,
      client.Txn({etcd::Compare::ModRevisionIs(key, now.kvs[0].mod_revision)},
                 {etcd::TxnOp::Delete(key), etcd::TxnOp::Delete(vip)}));
  if (!r.succeeded) {
    return Error::Unavailable("service " + s.name + " changed in etcd meanwhile: try again");
  }
  return r.revision;
}

}  // namespace berth::cluster
