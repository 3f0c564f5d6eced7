// A service's rules and dynamic sets (model.h) as libnftnl objects, for the nf_tables batch of
// element_batch.h: the kernel expressions nft itself generates for the same statements (checked
// against `nft --debug=netlink`), so creating or removing a service costs one round trip and
// no ruleset cache, whatever else the table holds.
//
// Only the statements of ServiceChains are encoded; anything else makes the encoding fail and
// the caller goes through libnftables.
//
// Thread-compatible.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "firewall/model.h"

struct nftnl_rule;
struct nftnl_set;

namespace berth::firewall {

struct NftnlRuleFree {
  void operator()(nftnl_rule* r) const;
};
struct NftnlSetFree {
  void operator()(nftnl_set* s) const;
};
using NftnlRule = std::unique_ptr<nftnl_rule, NftnlRuleFree>;
using NftnlSet = std::unique_ptr<nftnl_set, NftnlSetFree>;

/// One rule, and the anonymous maps it looks up (numgen's `vmap { 0 : goto ... }`) with their
/// elements: the maps are sent before the rule, which finds them by set id.
struct WireRule {
  std::vector<NftnlSet> maps;
  NftnlRule rule;
};

/// `rule` of `table`. `next_set_id` numbers the transaction's anonymous maps. nullopt: a
/// statement this encoding does not carry.
std::optional<WireRule> EncodeRule(Family family, const std::string& table, const Rule& rule,
                                   uint32_t& next_set_id);

/// The declaration of a dynamic set of single addresses (SetType::timeout); nullopt for any
/// other set.
std::optional<NftnlSet> EncodeDynamicSet(Family family, const std::string& table, const Set& set);

}  // namespace berth::firewall
