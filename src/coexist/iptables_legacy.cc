// The legacy x_tables `filter` table through libip4tc: the same chain, rules and jump as the
// nft variant, as ipt_entry structures (the layout `iptables-legacy` itself builds).
#include <libiptc/libiptc.h>
#include <linux/netfilter/xt_comment.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "coexist/coexist.h"
#include "coexist/iptables_backends.h"

namespace berth::coexist {

namespace {

constexpr char kTable[] = "filter";

struct HandleFree {
  void operator()(xtc_handle* h) const { iptc_free(h); }
};
using Handle = std::unique_ptr<xtc_handle, HandleFree>;

Error IptcError(const std::string& what) {
  int err = errno;
  return Error(Code::kSystem, "iptables-legacy: " + what + ": " + iptc_strerror(err), err);
}

Result<Handle> Init() {
  Handle h(iptc_init(kTable));
  if (!h) return IptcError("open the filter table");
  return h;
}

// An entry with an optional "-i/-o IFACE", an optional `-m comment --comment berth` and a
// standard target naming a verdict or a chain; libiptc resolves the name at commit.
std::vector<char> Entry(char direction, const std::string& iface, bool comment,
                        const std::string& target) {
  const size_t match_size =
      comment ? XT_ALIGN(sizeof(xt_entry_match)) + XT_ALIGN(sizeof(xt_comment_info)) : 0;
  const size_t target_size = XT_ALIGN(sizeof(xt_standard_target));
  std::vector<char> buf(XT_ALIGN(sizeof(ipt_entry)) + match_size + target_size, 0);
  auto* e = reinterpret_cast<ipt_entry*>(buf.data());
  e->target_offset = static_cast<uint16_t>(XT_ALIGN(sizeof(ipt_entry)) + match_size);
  e->next_offset = static_cast<uint16_t>(buf.size());
  if (!iface.empty()) {
    char* name = direction == 'i' ? e->ip.iniface : e->ip.outiface;
    unsigned char* mask = direction == 'i' ? e->ip.iniface_mask : e->ip.outiface_mask;
    std::strncpy(name, iface.c_str(), IFNAMSIZ - 1);
    std::memset(mask, 0xff, std::min<size_t>(iface.size() + 1, IFNAMSIZ));
  }
  if (comment) {
    auto* m = reinterpret_cast<xt_entry_match*>(e->elems);
    m->u.match_size = static_cast<uint16_t>(match_size);
    std::strncpy(m->u.user.name, "comment", sizeof(m->u.user.name) - 1);
    auto* info = reinterpret_cast<xt_comment_info*>(m->data);
    std::strncpy(info->comment, kComment, sizeof(info->comment) - 1);
  }
  auto* t = reinterpret_cast<xt_standard_target*>(buf.data() + e->target_offset);
  t->target.u.target_size = static_cast<uint16_t>(target_size);
  std::strncpy(t->target.u.user.name, target.c_str(), sizeof(t->target.u.user.name) - 1);
  return buf;
}

}  // namespace

bool LegacyPresent() {
  std::ifstream names("/proc/net/ip_tables_names");
  std::string line;
  while (std::getline(names, line)) {
    if (line == kTable) return true;
  }
  return false;
}

Result<IptablesState> ReadLegacy() {
  IptablesState s;
  BERTH_ASSIGN_OR_RETURN(Handle h, Init());
  if (!iptc_is_chain(kForward, h.get())) return s;
  s.table = true;
  xt_counters counters{};
  const char* policy = iptc_get_policy(kForward, &counters, h.get());
  s.forward_drops = policy && std::string(policy) == IPTC_LABEL_DROP;
  s.docker_user = iptc_is_chain(kDockerUser, h.get());
  s.chain = iptc_is_chain(kChain, h.get());
  for (const char* from : {kDockerUser, kForward}) {
    if (!iptc_is_chain(from, h.get())) continue;
    for (const ipt_entry* e = iptc_first_rule(from, h.get()); e; e = iptc_next_rule(e, h.get())) {
      std::string target = iptc_get_target(e, h.get());
      if (target == kChain) s.jumps_in.push_back(from);
      if (target == kDockerUser && std::string(from) == kForward) s.docker_user_used = true;
      if (std::string(from) == kForward) ++s.forward_rules;
    }
  }
  if (s.chain) {
    for (const ipt_entry* e = iptc_first_rule(kChain, h.get()); e; e = iptc_next_rule(e, h.get())) {
      bool accept = std::string(iptc_get_target(e, h.get())) == IPTC_LABEL_ACCEPT;
      std::string in = e->ip.iniface, out = e->ip.outiface;
      if (accept && !in.empty() && out.empty()) {
        s.rules.push_back(RuleKey('i', in));
      } else if (accept && !out.empty() && in.empty()) {
        s.rules.push_back(RuleKey('o', out));
      } else {
        s.rules.push_back("?");
      }
    }
  }
  return s;
}

Status ApplyLegacy(const IptablesState& s, const IptablesPlan& p) {
  if (!p.changes()) return Ok();
  BERTH_ASSIGN_OR_RETURN(Handle h, Init());
  if (p.remove_all) {
    for (const std::string& from : s.jumps_in) {
      // Highest position first, so the earlier numbers stay valid.
      std::vector<unsigned> at;
      unsigned n = 0;
      for (const ipt_entry* e = iptc_first_rule(from.c_str(), h.get()); e;
           e = iptc_next_rule(e, h.get()), ++n) {
        if (std::string(iptc_get_target(e, h.get())) == kChain) at.push_back(n);
      }
      for (auto it = at.rbegin(); it != at.rend(); ++it) {
        if (!iptc_delete_num_entry(from.c_str(), *it, h.get())) return IptcError("delete jump");
      }
    }
    if (s.chain && (!iptc_flush_entries(kChain, h.get()) || !iptc_delete_chain(kChain, h.get()))) {
      return IptcError("delete chain " + std::string(kChain));
    }
  } else {
    if (p.create_chain && !iptc_create_chain(kChain, h.get())) return IptcError("create chain");
    if (p.rewrite_rules) {
      if (!iptc_flush_entries(kChain, h.get())) return IptcError("flush chain");
      for (const std::string& key : p.rules) {
        std::vector<char> e = Entry(key[1], key.substr(3), false, IPTC_LABEL_ACCEPT);
        if (!iptc_append_entry(kChain, reinterpret_cast<ipt_entry*>(e.data()), h.get())) {
          return IptcError("append rule");
        }
      }
    }
    if (!p.add_jump_in.empty()) {
      std::vector<char> e = Entry('i', "", true, kChain);
      if (!iptc_insert_entry(p.add_jump_in.c_str(), reinterpret_cast<ipt_entry*>(e.data()), 0,
                             h.get())) {
        return IptcError("insert jump");
      }
    }
  }
  if (!iptc_commit(h.get())) return IptcError("commit");
  return Ok();
}

}  // namespace berth::coexist
