// The model in nft(8) syntax, for people: `--dry-run`/explain output and documentation. Never
// executed by berth (user data would become rule text); tests feed it to nft(8) to check it
// means what the JSON means.
//
// Pure. Thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "firewall/model.h"

namespace berth::firewall {

/// "tcp . 8080 : 80": the key's parts joined by " . ", then " : " and the value for maps when
/// `with_data`.
std::string TextElement(const Element& e, bool with_data = true);

/// One `nft delete element ...` line per element of `remove` (keys only), then one
/// `nft add element ...` line per element of `add`.
std::string TextElementCommands(const Table& table, const std::vector<Element>& remove,
                                const std::vector<Element>& add);

/// The whole table with `elements`, the chains `extra` (after the fixed ones) and the sets
/// `extra_sets` (after the fixed ones), as an `nft -f` file.
std::string TextRuleset(const Ruleset& rs, const std::vector<Element>& elements,
                        const std::vector<ChainBody>& extra = {},
                        const std::vector<Set>& extra_sets = {});

/// The chain changes as `nft` commands, in the order JsonElementBatch applies them.
std::string TextChainCommands(const Table& table, const ChainDelta& chains);

}  // namespace berth::firewall
