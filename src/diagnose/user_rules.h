// The admins' `user` chain of berth's table (firewall/ruleset.h): its rules as people read them,
// and which of them would stop a given flow. Only what the flow tells can be judged (addresses,
// protocol, destination port); any other match (interfaces, marks, state) is taken to match, so
// a rule is named as a suspect rather than missed.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/ip.h"
#include "core/model.h"

namespace berth::diagnose {

struct UserRule {
  std::string text;      // "ip daddr 198.51.100.2 tcp dport 80 drop"
  std::string verdict;   // "drop", "reject", "accept", "return", "" (none: counter, log)
  uint64_t handle = 0;
  std::string json;      // the rule's expressions, as nftables gives them
};

struct Flow {
  std::optional<IpAddr> saddr, daddr;
  Protocol protocol = Protocol::kTcp;
  std::optional<uint16_t> dport;
};

/// The rules of `inet berth user`, from the JSON listing libnftables gives (`listing`).
std::vector<UserRule> ParseUserChain(const std::string& listing);

/// The rules of any chain in an nftables JSON listing, keyed by "table chain handle".
std::map<std::string, UserRule> ParseRules(const std::string& listing);

/// Reads the chain from the kernel (a listing: changes nothing). Empty when the table is absent.
Result<std::vector<UserRule>> ReadUserChain();

/// The first rule that ends the flow's walk through the chain with drop or reject; nullopt when
/// an accept or return comes first or nothing matches.
std::optional<UserRule> FirstDrop(const std::vector<UserRule>& rules, const Flow& flow);

}  // namespace berth::diagnose
