#include "cluster/config.h"

#include <nlohmann/json.hpp>

namespace berth::cluster {

using nlohmann::json;

const char* BackendName(Backend b) {
  switch (b) {
    case Backend::kVxlan: return "vxlan";
    case Backend::kHostGw: return "host-gw";
    case Backend::kAuto: return "auto";
  }
  return "?";
}

Result<Backend> ParseBackend(std::string_view text) {
  if (text == "vxlan") return Backend::kVxlan;
  if (text == "host-gw") return Backend::kHostGw;
  if (text == "auto") return Backend::kAuto;
  return Error::Invalid("unknown backend \"" + std::string(text) +
                        "\": expected vxlan, host-gw or auto");
}

uint64_t ClusterConfig::SubnetCount() const {
  return uint64_t{1} << (subnet_len - cidr.prefix());
}

Cidr ClusterConfig::SubnetAt(uint64_t index) const {
  u128 step = u128{1} << (32 - subnet_len);
  return Cidr(cidr.Network().Plus(step * index), subnet_len);
}

Status Validate(const ClusterConfig& c) {
  if (!c.cidr.is_v4()) return Error::Invalid("--cidr " + c.cidr.ToString() + ": IPv4 only");
  if (c.cidr.prefix() < 8 || c.cidr.prefix() >= c.subnet_len || c.subnet_len > 30) {
    return Error::Invalid("--cidr " + c.cidr.ToString() + " with --subnet-len " +
                          std::to_string(c.subnet_len) +
                          ": the CIDR's prefix must be 8 or more and shorter than the subnet "
                          "length, which must be 30 or less");
  }
  // Ranges a host never routes to containers on other hosts.
  static constexpr std::pair<const char*, const char*> kReserved[] = {
      {"0.0.0.0/8", "\"this network\""},     {"127.0.0.0/8", "loopback"},
      {"169.254.0.0/16", "link-local"},      {"224.0.0.0/4", "multicast"},
      {"240.0.0.0/4", "reserved (class E)"}};
  for (const auto& [range, what] : kReserved) {
    Cidr r = *Cidr::ParseNetwork(range);
    if (c.cidr.Overlaps(r)) {
      return Error::Invalid("--cidr " + c.cidr.ToString() + " overlaps " + range + " (" + what +
                            "): choose a private range such as 10.244.0.0/16");
    }
  }
  if (c.vni == 0 || c.vni >= (1u << 24)) {
    return Error::Invalid("--vni " + std::to_string(c.vni) + ": must be 1-16777215");
  }
  if (c.port == 0) return Error::Invalid("--port 0: must be 1-65535");
  return Ok();
}

std::string ToJson(const ClusterConfig& c) {
  return json{{"cidr", c.cidr.ToString()},
              {"subnet_len", c.subnet_len},
              {"backend", BackendName(c.backend)},
              {"vni", c.vni},
              {"port", c.port}}
      .dump();
}

Result<ClusterConfig> ParseConfig(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("cidr") || !j["cidr"].is_string()) {
    return Error::Invalid("cluster config is not a JSON object with a cidr: " + std::string(text));
  }
  ClusterConfig c;
  BERTH_ASSIGN_OR_RETURN(c.cidr, Cidr::ParseNetwork(j["cidr"].get<std::string>()));
  c.subnet_len = j.value("subnet_len", 24);
  BERTH_ASSIGN_OR_RETURN(c.backend, ParseBackend(j.value("backend", std::string("vxlan"))));
  c.vni = j.value("vni", 1u);
  c.port = j.value("port", uint16_t{8472});
  BERTH_TRY_CTX(Validate(c), "cluster config in etcd");
  return c;
}

Result<bool> Init(etcd::Client& client, const ClusterConfig& c) {
  BERTH_TRY(Validate(c));
  std::string doc = ToJson(c);
  BERTH_ASSIGN_OR_RETURN(
      etcd::TxnResult r,
      client.Txn({etcd::Compare::Absent(kConfigKey)}, {etcd::TxnOp::Put(kConfigKey, doc)},
                 {etcd::TxnOp::Get(kConfigKey)}));
  if (r.succeeded) return true;
  if (r.gets.empty() || r.gets[0].kvs.empty()) {
    return Error::Internal("cluster config: put-if-absent failed but the key is not there");
  }
  const std::string& have_text = r.gets[0].kvs[0].value;
  auto have = ParseConfig(have_text);
  if (have.ok() && *have == c) return false;
  return Error::Exists("the cluster is already initialised with a different config: have " +
                       have_text + ", asked for " + doc +
                       " (a cluster's config cannot change while nodes hold subnets)");
}

Result<ClusterConfig> Load(etcd::Client& client) {
  BERTH_ASSIGN_OR_RETURN(etcd::RangeResult r, client.Get(kConfigKey));
  if (r.kvs.empty()) {
    return Error::NotFound("no cluster config under " + client.options().prefix +
                           ": run `berth cluster init` first");
  }
  return ParseConfig(r.kvs[0].value);
}

}  // namespace berth::cluster
