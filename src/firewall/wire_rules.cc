#include "firewall/wire_rules.h"

// netinet/in.h before the kernel's headers, which then skip their own copy of its definitions.
#include <netinet/in.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_nat.h>

#include "firewall/render_wire.h"

namespace berth::firewall {

void NftnlRuleFree::operator()(nftnl_rule* r) const { nftnl_rule_free(r); }
void NftnlSetFree::operator()(nftnl_set* s) const { nftnl_set_free(s); }

namespace {

// nft's own datatype numbers (src/datatype.h), which `nft list` reads back.
constexpr uint32_t kNftTypeInteger = 4;
constexpr uint32_t kNftTypeIpv4Addr = 7;
constexpr uint32_t kNftByteorderHost = 1;  // nft's BYTEORDER_HOST_ENDIAN
// How many clients a dynamic set holds at most: what nft gives one without a size.
constexpr uint32_t kDynamicSetSize = 65535;
// Where IPv4's addresses sit in its header.
constexpr uint32_t kIpv4Saddr = 12, kIpv4Daddr = 16;

// Builds one rule's expressions; false when a statement has no encoding here.
class RuleBuilder {
 public:
  RuleBuilder(Family family, const std::string& table, SetIds& ids)
      : family_(family), table_(table), ids_(ids) {}

  bool Add(const Statement& st) { return std::visit([&](const auto& s) { return Do(s); }, st); }

  WireRule Take(const std::string& chain) {
    nftnl_rule* r = rule_.get();
    nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table_.c_str());
    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain.c_str());
    nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NfProto(family_));
    return {std::move(maps_), std::move(rule_)};
  }

 private:
  nftnl_expr* Expr(const char* name) {
    nftnl_expr* e = nftnl_expr_alloc(name);
    nftnl_rule_add_expr(rule_.get(), e);  // owned by the rule from here
    return e;
  }
  void LoadMeta(uint32_t key, uint32_t dreg) {
    nftnl_expr* e = Expr("meta");
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
  }
  void CmpEq(uint32_t sreg, const void* data, uint32_t len) {
    nftnl_expr* e = Expr("cmp");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
    nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
  }
  // An IPv4 address of the packet into register 1; in an inet table after nft's "is IPv4" check.
  bool LoadIpv4(const Key& key) {
    if (key.size() != 1) return false;
    const auto* p = std::get_if<Payload>(&key[0]);
    if (!p || p->protocol != "ip" || (p->field != "saddr" && p->field != "daddr")) return false;
    if (family_ == Family::kInet) {
      LoadMeta(NFT_META_NFPROTO, NFT_REG_1);
      uint8_t v4 = NFPROTO_IPV4;
      CmpEq(NFT_REG_1, &v4, 1);
    }
    nftnl_expr* e = Expr("payload");
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, p->field == "saddr" ? kIpv4Saddr : kIpv4Daddr);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, 4);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
    return true;
  }

  bool Do(const Match& m) {
    if (m.op != Op::kEq) return false;
    if (const auto* set = std::get_if<SetRef>(&m.right)) {  // ip saddr @set
      if (!LoadIpv4(m.left)) return false;
      nftnl_expr* e = Expr("lookup");
      nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
      nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set->name.c_str());
      if (auto id = ids_.named.find(set->name); id != ids_.named.end()) {
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, id->second);
      }
      return true;
    }
    const auto* value = std::get_if<Value>(&m.right);
    const auto* proto = value ? std::get_if<Protocol>(value) : nullptr;
    if (!proto || m.left.size() != 1) return false;  // meta l4proto tcp
    const auto* meta = std::get_if<firewall::Meta>(&m.left[0]);
    if (!meta || meta->key != "l4proto") return false;
    LoadMeta(NFT_META_L4PROTO, NFT_REG_1);
    uint8_t p = *proto == Protocol::kUdp ? IPPROTO_UDP : IPPROTO_TCP;
    CmpEq(NFT_REG_1, &p, 1);
    return true;
  }
  bool Do(const Verdict& v) {
    nftnl_expr* e = Expr("immediate");
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, static_cast<uint32_t>(VerdictCode(v.kind)));
    if (!v.chain.empty()) nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, v.chain.c_str());
    return true;
  }
  bool Do(const NumgenGoto& n) {
    if (n.chains.empty()) return false;
    nftnl_expr* ng = Expr("numgen");
    nftnl_expr_set_u32(ng, NFTNL_EXPR_NG_DREG, NFT_REG_1);
    nftnl_expr_set_u32(ng, NFTNL_EXPR_NG_MODULUS, static_cast<uint32_t>(n.chains.size()));
    nftnl_expr_set_u32(ng, NFTNL_EXPR_NG_TYPE, n.random ? NFT_NG_RANDOM : NFT_NG_INCREMENTAL);
    nftnl_expr_set_u32(ng, NFTNL_EXPR_NG_OFFSET, 0);
    // The anonymous map `{ 0 : goto chains[0], ... }`: the kernel names it, the rule finds it
    // by its id in this transaction.
    uint32_t id = ++ids_.last;
    NftnlSet map(nftnl_set_alloc());
    nftnl_set* s = map.get();
    nftnl_set_set_str(s, NFTNL_SET_TABLE, table_.c_str());
    nftnl_set_set_str(s, NFTNL_SET_NAME, "__map%d");
    nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NfProto(family_));
    nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | NFT_SET_MAP);
    nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, kNftTypeInteger);
    nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, sizeof(uint32_t));
    nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
    nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 0);
    nftnl_set_set_u32(s, NFTNL_SET_ID, id);
    nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, static_cast<uint32_t>(n.chains.size()));
    // As nft says it, so `nft list` shows the keys as numbers (numgen's are host-endian).
    nftnl_udata_buf* udata = nftnl_udata_buf_alloc(16);
    nftnl_udata_put_u32(udata, NFTNL_UDATA_SET_KEYBYTEORDER, kNftByteorderHost);
    nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(udata),
                       nftnl_udata_buf_len(udata));
    nftnl_udata_buf_free(udata);
    for (uint32_t i = 0; i < n.chains.size(); ++i) {
      nftnl_set_elem* e = nftnl_set_elem_alloc();
      nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &i, sizeof(i));  // numgen's host byte order
      nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, static_cast<uint32_t>(NFT_GOTO));
      nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, n.chains[i].c_str());
      nftnl_set_elem_add(s, e);
    }
    maps_.push_back(std::move(map));
    nftnl_expr* lookup = Expr("lookup");
    nftnl_expr_set_u32(lookup, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
    nftnl_expr_set_u32(lookup, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
    nftnl_expr_set_str(lookup, NFTNL_EXPR_LOOKUP_SET, "__map%d");
    nftnl_expr_set_u32(lookup, NFTNL_EXPR_LOOKUP_SET_ID, id);
    return true;
  }
  bool Do(const DnatTo& d) {
    if (!d.addr.is_v4()) return false;
    nftnl_expr* addr = Expr("immediate");
    nftnl_expr_set_u32(addr, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
    nftnl_expr_set(addr, NFTNL_EXPR_IMM_DATA, d.addr.data(), 4);
    uint8_t port[2] = {static_cast<uint8_t>(d.port >> 8), static_cast<uint8_t>(d.port & 0xff)};
    nftnl_expr* p = Expr("immediate");
    nftnl_expr_set_u32(p, NFTNL_EXPR_IMM_DREG, NFT_REG_2);
    nftnl_expr_set(p, NFTNL_EXPR_IMM_DATA, port, sizeof(port));
    nftnl_expr* nat = Expr("nat");
    nftnl_expr_set_u32(nat, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
    nftnl_expr_set_u32(nat, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
    nftnl_expr_set_u32(nat, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
    nftnl_expr_set_u32(nat, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_2);
    nftnl_expr_set_u32(nat, NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
    return true;
  }
  bool Do(const Reject& r) {
    if (!r.tcp_reset && family_ != Family::kInet) return false;  // icmpx is inet's
    nftnl_expr* e = Expr("reject");
    nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE,
                       r.tcp_reset ? NFT_REJECT_TCP_RST : NFT_REJECT_ICMPX_UNREACH);
    nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, r.tcp_reset ? 0 : NFT_REJECT_ICMPX_PORT_UNREACH);
    return true;
  }
  bool Do(const SetUpdate& u) {
    if (!LoadIpv4(u.key)) return false;
    nftnl_expr* e = Expr("dynset");
    nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
    nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, u.set.c_str());
    if (auto id = ids_.named.find(u.set); id != ids_.named.end()) {
      nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SET_ID, id->second);
    }
    return true;
  }
  // Not used by a service's chains.
  bool Do(const Dnat&) { return false; }
  bool Do(const VerdictMap&) { return false; }
  bool Do(const Masquerade&) { return false; }
  bool Do(const Counter&) { return false; }

  static int VerdictCode(VerdictKind k) {
    switch (k) {
      case VerdictKind::kAccept: return NF_ACCEPT;
      case VerdictKind::kDrop: return NF_DROP;
      case VerdictKind::kJump: return NFT_JUMP;
      case VerdictKind::kGoto: return NFT_GOTO;
      case VerdictKind::kReturn: return NFT_RETURN;
    }
    return NF_ACCEPT;
  }

  Family family_;
  const std::string& table_;
  SetIds& ids_;
  NftnlRule rule_{nftnl_rule_alloc()};
  std::vector<NftnlSet> maps_;
};

}  // namespace

std::optional<WireRule> EncodeRule(Family family, const std::string& table, const Rule& rule,
                                   SetIds& ids) {
  RuleBuilder b(family, table, ids);
  for (const Statement& st : rule.statements) {
    if (!b.Add(st)) return std::nullopt;
  }
  return b.Take(rule.chain);
}

std::optional<NftnlSet> EncodeDynamicSet(Family family, const std::string& table, const Set& set,
                                         SetIds& ids) {
  if (set.type.timeout == 0 || set.type.interval || set.type.data ||
      set.type.key != std::vector<DataType>{DataType::kIpv4Addr}) {
    return std::nullopt;
  }
  NftnlSet out(nftnl_set_alloc());
  nftnl_set* s = out.get();
  nftnl_set_set_str(s, NFTNL_SET_TABLE, table.c_str());
  nftnl_set_set_str(s, NFTNL_SET_NAME, set.name.c_str());
  nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NfProto(family));
  // The flags libnftables gives the same set on a rebuild (its JSON cannot say "dynamic"): the
  // kernel refuses to add a set that exists with other flags (EEXIST), so a set made here
  // with NFT_SET_EVAL would make every later rebuild of the table fail. The timeout alone
  // picks the rhash backend, which rules can update.
  nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_TIMEOUT);
  nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, kNftTypeIpv4Addr);
  nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 4);
  nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, uint64_t{set.type.timeout} * 1000);  // ms
  nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, kDynamicSetSize);
  uint32_t id = ++ids.last;
  ids.named[set.name] = id;
  nftnl_set_set_u32(s, NFTNL_SET_ID, id);
  return out;
}

}  // namespace berth::firewall
