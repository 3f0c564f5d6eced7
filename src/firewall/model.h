// A typed nftables model: tables, chains, sets and maps with typed keys, elements whose parts
// are typed values, and rules as lists of statements. berth's ruleset (ruleset.cc) is data built
// with it; each encoding has its own renderer (render_json.h: libnftables JSON, render_wire.h:
// the kernel's element encoding for libnftnl batches, render_text.h: nft(8) syntax), so no
// encoding is derived from another and user data never becomes rule text.
//
// Address-family generic: addresses are IpAddr/Cidr, and a set's key type says which family it
// holds (kIpv4Addr, kIpv6Addr); the renderers check every value against its declared type.
//
// Pure value types. Thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/ip.h"
#include "core/model.h"

namespace berth::firewall {

enum class Family { kInet, kIp, kIp6 };

/// nftables data types (nft(8) "DATA TYPES") that berth's sets, maps and matches use.
enum class DataType { kIfname, kIpv4Addr, kIpv6Addr, kInetProto, kInetService, kVerdict };

// --- values: the typed parts of set elements and of rule constants ---

struct Ifname {
  std::string name;
  auto operator<=>(const Ifname&) const = default;
};
struct Port {
  uint16_t value = 0;
  auto operator<=>(const Port&) const = default;
};
/// An inclusive port range: one element of an interval set.
struct PortRange {
  uint16_t first = 0, last = 0;
  auto operator<=>(const PortRange&) const = default;
};
enum class VerdictKind { kAccept, kDrop, kJump, kGoto, kReturn };
struct Verdict {
  VerdictKind kind = VerdictKind::kAccept;
  std::string chain = {};  // for kJump and kGoto
  auto operator<=>(const Verdict&) const = default;
};

/// One typed value. IpAddr and Cidr (a prefix, in interval sets) carry their own family;
/// Protocol is an inet_proto.
using Value = std::variant<Ifname, IpAddr, Cidr, Protocol, Port, PortRange, Verdict>;

// --- objects ---

struct Table {
  Family family = Family::kInet;
  std::string name;
};

struct BaseChain {
  std::string type;  // "filter", "nat"
  std::string hook;  // "forward", "prerouting", ...
  int priority = 0;
  VerdictKind policy = VerdictKind::kAccept;
};
struct Chain {
  std::string name;
  std::optional<BaseChain> base = std::nullopt;  // nullopt: a regular chain, reached by jumps
  /// The admins' chain: created when missing, never flushed by a rebuild.
  bool user_owned = false;
};

struct SetType {
  std::vector<DataType> key;  // more than one part: a concatenation
  std::optional<DataType> data = std::nullopt;  // a map's value type; nullopt for a set
  bool interval = false;  // prefixes and ranges as elements
  /// Seconds an element lives (`flags dynamic,timeout`): a set that rules fill as packets
  /// pass (`update @set`), such as a service's client-IP affinity. 0: a set of berth's records.
  uint32_t timeout = 0;
};
struct Set {
  std::string name;
  SetType type;
  bool is_map() const { return type.data.has_value(); }
};

/// One element of the set or map `set`: one value per key part, and the value for maps.
struct Element {
  std::string set;
  std::vector<Value> key;
  std::optional<Value> data = std::nullopt;
  bool operator==(const Element&) const = default;
};

// --- rules ---

/// What a rule reads from a packet. Names are nft's own (libnftables-json(5)).
struct Meta {
  std::string key;  // "iifname", "oifname", "l4proto"
};
struct Payload {
  std::string protocol;  // "ip", "ip6", "th"
  std::string field;     // "saddr", "daddr", "dport"
};
struct Ct {
  std::string key;  // "state", "status"
};
struct Fib {
  std::vector<std::string> flags;  // "daddr", "iif"; the result is the address type
};
using Selector = std::variant<Meta, Payload, Ct, Fib>;
/// One selector, or several concatenated.
using Key = std::vector<Selector>;

struct SetRef {
  std::string name;
};
/// nft's symbolic constants: ct states ("established"), ct status ("dnat"), fib address
/// types ("local"). Several: any of them.
struct Symbols {
  std::vector<std::string> names;
};
using Operand = std::variant<SetRef, Symbols, Value>;

enum class Op { kEq, kNe, kIn };

struct Match {
  Key left;
  Op op = Op::kEq;
  Operand right;
};
/// dnat to the address looked up in `addr_map` by `key`, and to the port from `port_map` when
/// given (otherwise the destination port is kept); with `snat`, the source is rewritten
/// instead (no port map then).
struct Dnat {
  Family family = Family::kIp;  // the address family of the map values
  Key key;
  std::string addr_map;
  std::optional<std::string> port_map = std::nullopt;
  bool snat = false;
};
/// The verdict looked up in the verdict map `map` by `key` (no match: the rule goes on).
struct VerdictMap {
  Key key;
  std::string map;
};
struct Masquerade {};
struct Counter {};
/// `numgen random|inc mod N vmap { 0 : goto chains[0], ... }`: one of `chains` per new flow
/// (kube-proxy's nftables mode picks a service's endpoint this way).
struct NumgenGoto {
  bool random = true;  // false: inc (round robin)
  std::vector<std::string> chains;
};
/// `dnat ip to ADDR:PORT` (after a transport protocol match).
struct DnatTo {
  IpAddr addr;
  uint16_t port = 0;
};
/// `reject with tcp reset`, or `reject` (ICMP port unreachable).
struct Reject {
  bool tcp_reset = false;
};
/// `update @set { KEY }`: adds the packet's key to the dynamic set `set`, or restarts its
/// timeout when it is there.
struct SetUpdate {
  Key key;
  std::string set;
};
using Statement = std::variant<Match, Verdict, Dnat, VerdictMap, Masquerade, Counter, NumgenGoto,
                               DnatTo, Reject, SetUpdate>;

struct Rule {
  std::string chain;
  std::vector<Statement> statements;
};

/// A regular chain whose rules change with berth's records (a service's chains), unlike the
/// fixed chains of a Ruleset: created, refilled and deleted by deltas.
struct ChainBody {
  std::string name;
  std::vector<Rule> rules;
};

/// The chain changes of one transaction, applied after element deletions and before element
/// additions: `refill` chains are flushed and get their new rules; `remove` chains are flushed
/// (all of them first, so no rule still jumps to one) and deleted; then `remove_sets` are
/// deleted (no rule uses them any more), `flush_sets` emptied and `add_sets` created, all
/// before any rule is added; `add` chains are created with their rules. The sets are the
/// dynamic ones rules fill (SetType::timeout), which come and go with chains.
struct ChainDelta {
  std::vector<ChainBody> refill;
  std::vector<std::string> remove;
  std::vector<ChainBody> add;
  std::vector<Set> add_sets = {};
  std::vector<std::string> remove_sets = {}, flush_sets = {};
  bool empty() const {
    return refill.empty() && remove.empty() && add.empty() && add_sets.empty() &&
           remove_sets.empty() && flush_sets.empty();
  }
};

/// A table's whole structure. Elements live apart (they change; this does not).
struct Ruleset {
  Table table;
  std::vector<Chain> chains;
  std::vector<Set> sets;
  std::vector<Rule> rules;

  const Set* FindSet(const std::string& name) const {
    for (const Set& s : sets) {
      if (s.name == name) return &s;
    }
    return nullptr;
  }
};

/// nft's names, shared by the JSON and text encodings.
const char* NftName(Family family);
const char* NftName(DataType type);
const char* NftName(Protocol protocol);
const char* NftName(VerdictKind kind);

}  // namespace berth::firewall
