// The model in libnftables' JSON (libnftables-json(5)): what berth runs through libnftables for
// rebuilds and for deltas the element batch cannot carry (interval sets), and how it reads a
// listing back into typed elements.
//
// Pure. Thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "firewall/model.h"

namespace berth::firewall {

/// One transaction deleting `remove` (keys only), then making the chain changes `chains`
/// (model.h ChainDelta), then adding `add`; one element command per set.
std::string JsonElementBatch(const Ruleset& rs, const std::vector<Element>& remove,
                             const std::vector<Element>& add, const ChainDelta& chains = {});

/// Adds the table and every chain (the fixed ones and `extra`), set and map (the fixed ones and
/// `extra_sets`) that is missing (empty: harmless on its own).
std::string JsonCreateBatch(const Ruleset& rs, const std::vector<ChainBody>& extra = {},
                            const std::vector<Set>& extra_sets = {});

/// Flushes berth's own chains (never a user-owned chain; `extra` too) and the ruleset's sets,
/// deletes the `stray` chains (flushed first) and the `stray_sets`, and re-adds every rule
/// (`extra`'s too) and `elements`, atomically. Dynamic sets other than the stray ones keep
/// what rules put in them.
std::string JsonContentBatch(const Ruleset& rs, const std::vector<Element>& elements,
                             const std::vector<ChainBody>& extra = {},
                             const std::vector<std::string>& stray = {},
                             const std::vector<std::string>& stray_sets = {});

/// The names of the chains of `rs`'s table listed in `listing` (the JSON of `list table`).
std::vector<std::string> ParseJsonChains(const Ruleset& rs, const std::string& listing);
/// The names of its sets (not maps).
std::vector<std::string> ParseJsonSets(const Ruleset& rs, const std::string& listing);

/// `list table` for the ruleset's table.
std::string JsonListTable(const Table& table);

/// The elements of `rs`'s sets and maps found in `listing` (the JSON of `list table`). Empty
/// when the listing is empty or unparsable; elements it cannot type are left out.
std::vector<Element> ParseJsonListing(const Ruleset& rs, const std::string& listing);

}  // namespace berth::firewall
