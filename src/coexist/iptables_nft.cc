// iptables-nft's tables through libnftnl: read `ip filter`, write berth's chain and jump in
// the exact expressions iptables-nft uses, so `iptables -S`, `iptables-save` and `iptables -D`
// treat them as their own (native nft expressions it cannot map back would make `iptables`
// itself fail on the whole table).
#include <libmnl/libmnl.h>  // first: libnftnl's headers need its <stdio.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/xt_comment.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "coexist/coexist.h"
#include "coexist/iptables_backends.h"
#include "coexist/nfnl.h"

namespace berth::coexist {

namespace {

constexpr char kTable[] = "filter";

std::string CmpString(const nftnl_expr* e) {
  uint32_t len = 0;
  const char* d = static_cast<const char*>(nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len));
  return d ? std::string(d, strnlen(d, len)) : std::string();
}

// What one rule of iptables-nft's means to berth: "-i br" / "-o br" (ACCEPT), or a jump.
struct RuleView {
  uint64_t handle = 0;
  uint32_t meta_key = 0;  // of the last meta load
  std::string iif, oif, jump;
  bool accept = false;
  int exprs = 0;
};

int ViewExpr(nftnl_expr* e, void* data) {
  auto* v = static_cast<RuleView*>(data);
  ++v->exprs;
  std::string name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
  if (name == "meta") {
    v->meta_key = nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY);
  } else if (name == "cmp") {
    if (v->meta_key == NFT_META_IIFNAME) v->iif = CmpString(e);
    if (v->meta_key == NFT_META_OIFNAME) v->oif = CmpString(e);
  } else if (name == "immediate" && nftnl_expr_is_set(e, NFTNL_EXPR_IMM_VERDICT)) {
    int verdict = static_cast<int>(nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT));
    if (verdict == NF_ACCEPT) v->accept = true;
    if (verdict == NFT_JUMP && nftnl_expr_is_set(e, NFTNL_EXPR_IMM_CHAIN)) {
      v->jump = nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN);
    }
  }
  return MNL_CB_OK;
}

Result<std::vector<RuleView>> ReadRules(mnl_socket* nl, const std::string& chain) {
  std::vector<RuleView> out;
  BERTH_TRY(Dump(
      nl, NFT_MSG_GETRULE, NFPROTO_IPV4,
      [&](nlmsghdr* nlh) {
        RulePtr r(nftnl_rule_alloc());
        nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, kTable);
        nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain.c_str());
        nftnl_rule_nlmsg_build_payload(nlh, r.get());
      },
      [&](const nlmsghdr* m) {
        RulePtr r(nftnl_rule_alloc());
        if (nftnl_rule_nlmsg_parse(m, r.get()) < 0) return;
        if (chain != nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN)) return;
        RuleView v;
        v.handle = nftnl_rule_get_u64(r.get(), NFTNL_RULE_HANDLE);
        nftnl_expr_foreach(r.get(), ViewExpr, &v);
        out.push_back(std::move(v));
      }));
  return out;
}

// --- building rules as iptables-nft 1.8 does (nft.c add_iniface/add_match/add_counters) ---

void AddExpr(nftnl_rule* r, nftnl_expr* e) { nftnl_rule_add_expr(r, e); }

void AddIfname(nftnl_rule* r, uint32_t key, const std::string& name) {
  nftnl_expr* meta = nftnl_expr_alloc("meta");
  nftnl_expr_set_u32(meta, NFTNL_EXPR_META_KEY, key);
  nftnl_expr_set_u32(meta, NFTNL_EXPR_META_DREG, NFT_REG_1);
  AddExpr(r, meta);
  nftnl_expr* cmp = nftnl_expr_alloc("cmp");
  nftnl_expr_set_u32(cmp, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
  nftnl_expr_set_u32(cmp, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
  nftnl_expr_set(cmp, NFTNL_EXPR_CMP_DATA, name.c_str(), static_cast<uint32_t>(name.size() + 1));
  AddExpr(r, cmp);
}

// `-m comment --comment berth`: iptables-nft 1.8 keeps it as an xt match (nft_compat).
void AddComment(nftnl_rule* r) {
  nftnl_expr* m = nftnl_expr_alloc("match");
  nftnl_expr_set_str(m, NFTNL_EXPR_MT_NAME, "comment");
  nftnl_expr_set_u32(m, NFTNL_EXPR_MT_REV, 0);
  // The expression takes ownership of the buffer (libnftnl frees it).
  auto* info = static_cast<xt_comment_info*>(calloc(1, sizeof(xt_comment_info)));
  std::strncpy(info->comment, kComment, sizeof(info->comment) - 1);
  nftnl_expr_set(m, NFTNL_EXPR_MT_INFO, info, sizeof(xt_comment_info));
  AddExpr(r, m);
}

void AddCounterAndVerdict(nftnl_rule* r, int verdict, const char* chain) {
  nftnl_expr* c = nftnl_expr_alloc("counter");
  nftnl_expr_set_u64(c, NFTNL_EXPR_CTR_PACKETS, 0);
  nftnl_expr_set_u64(c, NFTNL_EXPR_CTR_BYTES, 0);
  AddExpr(r, c);
  nftnl_expr* imm = nftnl_expr_alloc("immediate");
  nftnl_expr_set_u32(imm, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
  nftnl_expr_set_u32(imm, NFTNL_EXPR_IMM_VERDICT, static_cast<uint32_t>(verdict));
  if (chain) nftnl_expr_set_str(imm, NFTNL_EXPR_IMM_CHAIN, chain);
  AddExpr(r, imm);
}

RulePtr NewRule(const char* chain) {
  RulePtr r(nftnl_rule_alloc());
  nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, NFPROTO_IPV4);
  nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, kTable);
  nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain);
  // iptables-nft's add_compat(): protocol 0, not inverted.
  nftnl_rule_set_u32(r.get(), NFTNL_RULE_COMPAT_PROTO, 0);
  nftnl_rule_set_u32(r.get(), NFTNL_RULE_COMPAT_FLAGS, 0);
  return r;
}

}  // namespace

Result<IptablesState> ReadNft() {
  IptablesState s;
  BERTH_ASSIGN_OR_RETURN(Socket nl, OpenSocket());
  BERTH_TRY(Dump(
      nl.get(), NFT_MSG_GETCHAIN, NFPROTO_IPV4,
      [](nlmsghdr* nlh) {
        ChainPtr c(nftnl_chain_alloc());
        nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, kTable);
        nftnl_chain_nlmsg_build_payload(nlh, c.get());
      },
      [&](const nlmsghdr* m) {
        ChainPtr c(nftnl_chain_alloc());
        if (nftnl_chain_nlmsg_parse(m, c.get()) < 0) return;
        if (std::string(kTable) != nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE)) return;
        std::string name = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME);
        if (name == kForward && nftnl_chain_is_set(c.get(), NFTNL_CHAIN_HOOKNUM)) {
          s.table = true;
          s.forward_drops = nftnl_chain_is_set(c.get(), NFTNL_CHAIN_POLICY) &&
                            nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_POLICY) == NF_DROP;
        }
        if (name == kDockerUser) s.docker_user = true;
        if (name == kChain) s.chain = true;
      }));
  if (!s.table) return s;
  for (const char* from : {kDockerUser, kForward}) {
    if (std::string(from) == kDockerUser && !s.docker_user) continue;
    BERTH_ASSIGN_OR_RETURN(auto rules, ReadRules(nl.get(), from));
    for (const RuleView& v : rules) {
      if (v.jump == kChain) s.jumps_in.push_back(from);
      if (v.jump == kDockerUser && std::string(from) == kForward) s.docker_user_used = true;
    }
    if (std::string(from) == kForward) s.forward_rules = static_cast<int>(rules.size());
  }
  if (s.chain) {
    BERTH_ASSIGN_OR_RETURN(auto rules, ReadRules(nl.get(), kChain));
    for (const RuleView& v : rules) {
      // Anything but berth's own shape counts as a difference, so a rewrite puts it right.
      if (v.accept && !v.iif.empty() && v.oif.empty()) {
        s.rules.push_back(RuleKey('i', v.iif));
      } else if (v.accept && !v.oif.empty() && v.iif.empty()) {
        s.rules.push_back(RuleKey('o', v.oif));
      } else {
        s.rules.push_back("?");
      }
    }
  }
  return s;
}

Status ApplyNft(const IptablesState& s, const IptablesPlan& p) {
  if (!p.changes()) return Ok();
  BERTH_ASSIGN_OR_RETURN(Socket nl, OpenSocket());
  Batch batch(NFPROTO_IPV4, kTable, p.rules.size() + s.jumps_in.size() + 2);
  if (p.remove_all) {
    for (const char* from : {kDockerUser, kForward}) {
      if (std::find(s.jumps_in.begin(), s.jumps_in.end(), from) == s.jumps_in.end()) continue;
      BERTH_ASSIGN_OR_RETURN(auto rules, ReadRules(nl.get(), from));
      for (const RuleView& v : rules) {
        if (v.jump != kChain) continue;
        RulePtr r = NewRule(from);
        nftnl_rule_set_u64(r.get(), NFTNL_RULE_HANDLE, v.handle);
        batch.RuleMsg(NFT_MSG_DELRULE, 0, r.get());
      }
    }
    if (s.chain) {
      RulePtr flush = NewRule(kChain);
      batch.RuleMsg(NFT_MSG_DELRULE, 0, flush.get());
      batch.Chain(NFT_MSG_DELCHAIN, kChain);
    }
    return batch.Send(nl.get());
  }
  if (p.create_chain) batch.Chain(NFT_MSG_NEWCHAIN, kChain);
  if (p.rewrite_rules) {
    if (!p.create_chain) {
      RulePtr flush = NewRule(kChain);  // no handle: every rule of the chain
      batch.RuleMsg(NFT_MSG_DELRULE, 0, flush.get());
    }
    for (const std::string& key : p.rules) {
      RulePtr r = NewRule(kChain);
      AddIfname(r.get(), key[1] == 'i' ? NFT_META_IIFNAME : NFT_META_OIFNAME, key.substr(3));
      AddCounterAndVerdict(r.get(), NF_ACCEPT, nullptr);
      batch.RuleMsg(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, r.get());
    }
  }
  if (!p.add_jump_in.empty()) {
    RulePtr r = NewRule(p.add_jump_in.c_str());
    AddComment(r.get());
    AddCounterAndVerdict(r.get(), NFT_JUMP, kChain);
    batch.RuleMsg(NFT_MSG_NEWRULE, NLM_F_CREATE, r.get());  // no APPEND: atop the chain
  }
  return batch.Send(nl.get());
}

}  // namespace berth::coexist
