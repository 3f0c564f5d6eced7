// Is berth's table still whole? A few targeted nf_tables queries (the table, its chains, its
// rules and the elements of the sets that should hold some), not a ruleset dump: what berthd
// asks after a foreign deletion event, and what a command asks when the generation moved
// (nft_generation.h).
//
// The caller says what should be there (from its ruleset model and store), so this file knows
// no rule or set of berth's.
//
// Thread-compatible: each call opens its own socket, or uses the caller's.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/error.h"
#include "firewall/nfnl_socket.h"

namespace berth::firewall {

struct ExpectedChain {
  std::string name;
  size_t min_rules = 0;  // a fixed chain holds its rules; 0: the chain must only exist
  bool exact = false;     // exactly min_rules: a rule added behind berth's back counts too
};

struct ExpectedSet {  // a set or a map
  std::string name;
  // Elements it holds at least (an interval counts once); 0: it must only exist. Counting
  // dumps the set, so pass 0 or 1 where the exact number is unknown or large.
  size_t min_elements = 0;
  bool exact = false;  // exactly min_elements: a stray element counts too
};

struct ExpectedTable {
  std::string name;  // family inet
  std::vector<ExpectedChain> chains;
  std::vector<ExpectedSet> sets;
};

/// What of `expected` is missing (or, for exact counts, in excess), in nft(8) words: "table
/// inet berth", "chain forward", "chain forward: 0 of 9 rules", "set bridges", "set bridges: 0
/// of 2 elements", "set ports: 3 of 2 elements". Empty: the table is whole. A missing table is
/// reported alone.
Result<std::vector<std::string>> MissingObjects(const ExpectedTable& expected);
Result<std::vector<std::string>> MissingObjects(NfnlSocket& socket, const ExpectedTable& expected);

}  // namespace berth::firewall
