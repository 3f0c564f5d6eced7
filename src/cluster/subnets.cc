#include "cluster/subnets.h"

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "core/names.h"

namespace berth::cluster {

using nlohmann::json;
using etcd::Compare;
using etcd::TxnOp;

namespace {

// Attempts before Claim gives up: each lost race means another node got a subnet, so even 20
// joiners at once settle in a handful.
constexpr int kClaimAttempts = 100;

// A claim's transaction. kUnavailable may mean etcd applied it and the answer was lost (the
// client never sends a request twice): nullopt then, and Claim reads back whether it won,
// as after a lost race. When etcd is really away, that read fails and Claim with it.
Result<std::optional<etcd::TxnResult>> ClaimTxn(etcd::Client& client,
                                                const std::vector<Compare>& compares,
                                                const std::vector<TxnOp>& success,
                                                const std::vector<TxnOp>& failure = {}) {
  auto r = client.Txn(compares, success, failure);
  if (!r.ok() && r.error().code() == Code::kUnavailable) return std::optional<etcd::TxnResult>();
  if (!r.ok()) return std::move(r).error();
  return std::optional<etcd::TxnResult>(*std::move(r));
}

}  // namespace

std::string ToJson(const NodeInfo& n) {
  return json{{"name", n.name},          {"node_ip", n.node_ip.ToString()},
              {"subnet", n.subnet.ToString()}, {"vtep_mac", n.vtep_mac},
              {"backend", n.backend},    {"mtu", n.mtu},
              {"joined", n.joined},      {"host_id", n.host_id}}
      .dump();
}

Result<NodeInfo> ParseNode(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("name") || !j.contains("node_ip") || !j.contains("subnet")) {
    return Error::Invalid("node record is not a JSON object with name, node_ip and subnet: " +
                          std::string(text));
  }
  NodeInfo n;
  try {
    n.name = j["name"].get<std::string>();
    BERTH_ASSIGN_OR_RETURN(n.node_ip, IpAddr::Parse(j["node_ip"].get<std::string>()));
    BERTH_ASSIGN_OR_RETURN(n.subnet, Cidr::ParseNetwork(j["subnet"].get<std::string>()));
    n.vtep_mac = j.value("vtep_mac", std::string());
    n.backend = j.value("backend", std::string());
    n.mtu = j.value("mtu", 0);
    n.joined = j.value("joined", int64_t{0});
    n.host_id = j.value("host_id", std::string());
  } catch (const json::exception& e) {
    return Error::Invalid(std::string("node record: ") + e.what());
  }
  return n;
}

std::string SubnetKey(const Cidr& subnet) {
  return std::string(kSubnetsPrefix) + subnet.Network().ToString() + "-" +
         std::to_string(subnet.prefix());
}
std::string NodeKey(const std::string& name) { return kNodesPrefix + name; }
std::string AliveKey(const std::string& name) { return kAlivePrefix + name; }
std::string RemovedKey(const std::string& name) { return kRemovedPrefix + name; }

Status ValidateNodeName(const std::string& name) {
  BERTH_TRY(ValidateName("node", name));
  return Ok();
}

uint64_t StartIndex(const std::string& name, uint64_t count) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a: the same on every host and build
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return count == 0 ? 0 : h % count;
}

Error HeldByOther(const Cidr& subnet, const std::string& holder, const std::string& self) {
  return Error::Exists("subnet " + subnet.ToString() + " is held by node " + holder +
                       ": not serving the cluster network on node " + self)
      .WithDetails(
          "two nodes must never share a subnet. This happens after etcd was restored from an "
          "old backup or when two hosts use one node name. Give this host another node name "
          "(berth cluster leave, then join), or free the subnet with `berth node rm " +
          holder + "` if that node is gone.");
}

Error RemovedError(const std::string& self) {
  return Error::Exists("node " + self +
                       " was removed from the cluster (berth node rm): not serving the cluster "
                       "network")
      .WithDetails("run `berth cluster leave`, then `berth cluster join` to join again");
}

Error OtherHost(const NodeInfo& theirs, const std::string& self) {
  return Error::Exists("node name " + self + " is used by another host (node IP " +
                       theirs.node_ip.ToString() +
                       "): not serving the cluster network with it")
      .WithDetails("two hosts must not share a node name: give this host another one (berth "
                   "cluster leave, then join --node OTHER)");
}

Result<NodeInfo> Claim(etcd::Client& client, const ClusterConfig& config, NodeInfo self,
                       bool take_over, const std::vector<Cidr>& avoid) {
  BERTH_TRY(ValidateNodeName(self.name));
  const std::string node_key = NodeKey(self.name);
  std::optional<Cidr> required;
  if (self.subnet.prefix() != 0) required = self.subnet;
  if (required && (!config.cidr.Contains(*required) || required->prefix() != config.subnet_len)) {
    return Error::Exists("this host's cluster network uses " + required->ToString() +
                         ", not a subnet of the cluster CIDR " + config.cidr.ToString() + "/" +
                         std::to_string(config.subnet_len) +
                         ": the cluster was initialised again with another config; leave and "
                         "join again");
  }
  for (int attempt = 0; attempt < kClaimAttempts; ++attempt) {
    BERTH_ASSIGN_OR_RETURN(etcd::RangeResult mine, client.Get(node_key));
    if (!mine.kvs.empty()) {
      // A known node keeps its subnet, whatever happened meanwhile (#520, #621).
      BERTH_ASSIGN_OR_RETURN(NodeInfo old, ParseNode(mine.kvs[0].value));
      if (!take_over && !old.host_id.empty() && !self.host_id.empty() &&
          old.host_id != self.host_id) {
        return OtherHost(old, self.name);
      }
      if (!config.cidr.Contains(old.subnet)) {
        return Error::Exists("node " + self.name + " holds subnet " + old.subnet.ToString() +
                             ", outside the cluster CIDR " + config.cidr.ToString() +
                             ": remove it with `berth node rm " + self.name + "`");
      }
      if (required && old.subnet != *required) {
        return Error::Exists("node " + self.name + " holds subnet " + old.subnet.ToString() +
                             " in etcd, but this host's cluster network uses " +
                             required->ToString() +
                             ": two hosts with one node name? Not serving the cluster network");
      }
      self.subnet = old.subnet;
      self.joined = old.joined;
      const std::string skey = SubnetKey(self.subnet);
      Compare node_same = Compare::ModRevisionIs(node_key, mine.kvs[0].mod_revision);
      BERTH_ASSIGN_OR_RETURN(
          auto r, ClaimTxn(client, {node_same, Compare::ValueIs(skey, self.name)},
                           {TxnOp::Put(node_key, ToJson(self))}, {TxnOp::Get(skey)}));
      if (!r) continue;  // outcome unknown: read it back
      if (r->succeeded) return self;
      if (!r->gets.empty() && !r->gets[0].kvs.empty()) {
        const std::string& holder = r->gets[0].kvs[0].value;
        if (holder != self.name) return HeldByOther(self.subnet, holder, self.name);
        continue;  // our record changed under us: read it again
      }
      // The subnet key is gone (deleted by hand): take it back, it is still ours.
      BERTH_ASSIGN_OR_RETURN(
          r, ClaimTxn(client, {node_same, Compare::Absent(skey)},
                      {TxnOp::Put(skey, self.name), TxnOp::Put(node_key, ToJson(self))}));
      if (r && r->succeeded) return self;
      continue;
    }

    // A new node: the first free subnet from a hash of its name on; a required one (the
    // subnet this host's cluster network uses, after etcd lost its record) or nothing.
    BERTH_ASSIGN_OR_RETURN(etcd::RangeResult taken, client.GetPrefix(kSubnetsPrefix));
    std::set<std::string> held;
    std::string required_holder;
    for (const auto& kv : taken.kvs) {
      held.insert(kv.key);
      if (required && kv.key == SubnetKey(*required)) required_holder = kv.value;
    }
    const uint64_t count = config.SubnetCount();
    const uint64_t start = StartIndex(self.name, count);
    std::optional<Cidr> free;
    if (required) {
      if (!required_holder.empty()) return HeldByOther(*required, required_holder, self.name);
      BERTH_ASSIGN_OR_RETURN(etcd::RangeResult tomb, client.Get(RemovedKey(self.name)));
      if (!tomb.kvs.empty()) return RemovedError(self.name);
      free = required;
    }
    for (uint64_t i = 0; i < count && !free; ++i) {
      Cidr c = config.SubnetAt((start + i) % count);
      bool local = std::any_of(avoid.begin(), avoid.end(),
                               [&](const Cidr& a) { return a.Overlaps(c); });
      if (!held.count(SubnetKey(c)) && !local) free = c;
    }
    if (!free) {
      return Error::Exists("no free subnet left in the cluster CIDR " + config.cidr.ToString() +
                           " (" + std::to_string(count) + " subnets of /" +
                           std::to_string(config.subnet_len) + ", all held)");
    }
    self.subnet = *free;
    if (self.joined == 0) self.joined = static_cast<int64_t>(std::time(nullptr));
    const std::string skey = SubnetKey(self.subnet);
    BERTH_ASSIGN_OR_RETURN(
        auto r, ClaimTxn(client, {Compare::Absent(skey), Compare::Absent(node_key)},
                         {TxnOp::Put(skey, self.name), TxnOp::Put(node_key, ToJson(self)),
                          TxnOp::Delete(RemovedKey(self.name))}));
    if (r && r->succeeded) return self;
    // Lost a race (another node took that subnet, or this name joined meanwhile) or the
    // outcome is unknown. Look again: nodes/NAME says whether it was ours.
  }
  return Error::Unavailable("could not claim a subnet for node " + self.name + " after " +
                            std::to_string(kClaimAttempts) + " attempts");
}

Status Unclaim(etcd::Client& client, const NodeInfo& self) {
  const std::string skey = SubnetKey(self.subnet);
  const std::string node_key = NodeKey(self.name);
  BERTH_ASSIGN_OR_RETURN(
      etcd::TxnResult r,
      client.Txn({Compare::ValueIs(skey, self.name), Compare::ValueIs(node_key, ToJson(self))},
                 {TxnOp::Delete(skey), TxnOp::Delete(node_key)}));
  (void)r;  // not ours any more: nothing to undo
  return Ok();
}

Status Publish(etcd::Client& client, const NodeInfo& self) {
  const std::string skey = SubnetKey(self.subnet);
  BERTH_ASSIGN_OR_RETURN(etcd::TxnResult r,
                         client.Txn({Compare::ValueIs(skey, self.name)},
                                    {TxnOp::Put(NodeKey(self.name), ToJson(self))},
                                    {TxnOp::Get(skey)}));
  if (r.succeeded) return Ok();
  if (!r.gets.empty() && !r.gets[0].kvs.empty()) {
    return HeldByOther(self.subnet, r.gets[0].kvs[0].value, self.name);
  }
  return Error::NotFound("node " + self.name + " no longer holds subnet " +
                         self.subnet.ToString() + " (removed with `berth node rm`?)");
}

Status CheckHeld(etcd::Client& client, const NodeInfo& self) {
  BERTH_ASSIGN_OR_RETURN(etcd::RangeResult r, client.Get(SubnetKey(self.subnet)));
  if (r.kvs.empty()) {
    return Error::NotFound("node " + self.name + " no longer holds subnet " +
                           self.subnet.ToString() + " (removed with `berth node rm`?)");
  }
  if (r.kvs[0].value != self.name) return HeldByOther(self.subnet, r.kvs[0].value, self.name);
  return Ok();
}

Status RemoveNode(etcd::Client& client, const std::string& name) {
  BERTH_ASSIGN_OR_RETURN(etcd::RangeResult r, client.Get(NodeKey(name)));
  if (r.kvs.empty()) return Error::NotFound("no node " + name + " in the cluster");
  BERTH_ASSIGN_OR_RETURN(NodeInfo node, ParseNode(r.kvs[0].value));
  const std::string skey = SubnetKey(node.subnet);
  // The subnet key goes only when it still names this node: never free another node's subnet.
  std::vector<TxnOp> always = {TxnOp::Delete(NodeKey(name)), TxnOp::Delete(AliveKey(name)),
                               TxnOp::Delete(kNamesPrefix + name + "/", /*prefix=*/true),
                               TxnOp::Put(RemovedKey(name), node.subnet.ToString())};
  std::vector<TxnOp> with_subnet = always;
  with_subnet.push_back(TxnOp::Delete(skey));
  BERTH_ASSIGN_OR_RETURN(etcd::TxnResult t,
                         client.Txn({Compare::ValueIs(skey, name)}, with_subnet, always));
  (void)t;
  return Ok();
}

}  // namespace berth::cluster
