// The model in the kernel's own encoding of set elements (nf_tables netlink attributes), for the
// libnftnl batch of the per-container path (element_batch.h): typed values straight to bytes,
// no JSON in between.
//
// Pure. Thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "firewall/model.h"

namespace berth::firewall {

/// One element change for the set it belongs to: the key (each part of a concatenation padded
/// to a 32-bit register, as nft lays it out) and, for maps, the value: bytes, or a verdict for
/// a verdict map.
struct WireElement {
  std::string set;
  std::string key;
  std::string data;  // empty for sets, verdict maps and deletes
  std::optional<Verdict> verdict = std::nullopt;
};
/// One transaction: `remove` deleted, then the chain and set changes of `chains` (model.h
/// ChainDelta: a service's chains, their rules and affinity sets), then `add` added.
struct WireDelta {
  Family family = Family::kInet;
  std::string table;
  std::vector<WireElement> remove, add;
  ChainDelta chains = {};
};

/// `e` (an element of `set`) in the kernel's encoding; its value too when `with_data`. nullopt
/// when the set holds intervals (prefixes and ranges need nft's interval handling), or when a
/// value does not have the set's declared type (an IPv6 address in an ipv4_addr set, an
/// interface name of IFNAMSIZ or more).
std::optional<WireElement> EncodeElement(const Set& set, const Element& e, bool with_data);

/// The netfilter protocol family of `family` (NFPROTO_*).
uint8_t NfProto(Family family);

}  // namespace berth::firewall
