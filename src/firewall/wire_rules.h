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
#include <map>
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

/// The sets one transaction creates: the kernel finds a set made earlier in the same
/// transaction by its id (a name alone is not enough), anonymous maps only by it.
struct SetIds {
  uint32_t last = 0;
  std::map<std::string, uint32_t> named;
};

/// `rule` of `table`; its anonymous maps and the sets in `ids` are referred to by id. nullopt:
/// a statement this encoding does not carry.
std::optional<WireRule> EncodeRule(Family family, const std::string& table, const Rule& rule,
                                   SetIds& ids);

/// The declaration of a dynamic set of single addresses (SetType::timeout), given an id of
/// `ids`; nullopt for any other set.
std::optional<NftnlSet> EncodeDynamicSet(Family family, const std::string& table, const Set& set,
                                         SetIds& ids);

}  // namespace berth::firewall
