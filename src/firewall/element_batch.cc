#include "firewall/element_batch.h"

#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <cstring>
#include <map>
#include <vector>

#include "firewall/wire_rules.h"

namespace berth::firewall {

namespace {

struct ChainFree {
  void operator()(nftnl_chain* c) const { nftnl_chain_free(c); }
};
using NftChain = std::unique_ptr<nftnl_chain, ChainFree>;

// A set object naming `name` (and holding no elements yet).
NftnlSet NamedSet(const WireDelta& delta, const std::string& name) {
  NftnlSet s(nftnl_set_alloc());
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, delta.table.c_str());
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, name.c_str());
  nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, NfProto(delta.family));
  return s;
}

// One nftnl_set per set name, holding the elements of one verb.
std::map<std::string, NftnlSet> Group(const WireDelta& delta,
                                      const std::vector<WireElement>& elems) {
  std::map<std::string, NftnlSet> sets;
  for (const WireElement& w : elems) {
    NftnlSet& s = sets[w.set];
    if (!s) s = NamedSet(delta, w.set);
    nftnl_set_elem* e = nftnl_set_elem_alloc();
    nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, w.key.data(), static_cast<uint32_t>(w.key.size()));
    if (!w.data.empty()) {
      nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, w.data.data(),
                         static_cast<uint32_t>(w.data.size()));
    }
    if (w.verdict) {
      int code = w.verdict->kind == VerdictKind::kGoto   ? NFT_GOTO
                 : w.verdict->kind == VerdictKind::kJump ? NFT_JUMP
                 : w.verdict->kind == VerdictKind::kDrop ? NF_DROP
                 : w.verdict->kind == VerdictKind::kReturn ? NFT_RETURN
                                                           : NF_ACCEPT;
      nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, static_cast<uint32_t>(code));
      if (!w.verdict->chain.empty()) {
        nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, w.verdict->chain.c_str());
      }
    }
    nftnl_set_elem_add(s.get(), e);  // owned by the set from here
  }
  return sets;
}

// A rule object naming only `chain`: deleting it flushes the chain.
NftnlRule ChainRules(const WireDelta& delta, const std::string& chain) {
  NftnlRule r(nftnl_rule_alloc());
  nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, delta.table.c_str());
  nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain.c_str());
  nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, NfProto(delta.family));
  return r;
}

NftChain ChainNamed(const WireDelta& delta, const std::string& name) {
  NftChain c(nftnl_chain_alloc());
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, delta.table.c_str());
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, name.c_str());
  nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, NfProto(delta.family));
  return c;
}

// The messages of one transaction in a libmnl batch; every message asks for an ack, so
// success is "one ack per message" and a failure names the message that failed (the kernel
// then aborts the whole batch).
class Batch {
 public:
  Batch(NfnlSocket& socket, size_t limit) : socket_(socket), buf_(2 * limit) {
    // libmnl lets the last message run past the limit: the buffer holds twice it.
    batch_ = mnl_nlmsg_batch_start(buf_.data(), limit);
    nftnl_batch_begin(Current(), socket_.NextSeq());
    mnl_nlmsg_batch_next(batch_);
    first_seq_ = socket_.NextSeq();
  }
  ~Batch() { mnl_nlmsg_batch_stop(batch_); }

  // A message header for the next message.
  nlmsghdr* Begin(uint16_t type, uint16_t flags) {
    uint32_t seq = expected_ == 0 ? first_seq_ : socket_.NextSeq();
    return nftnl_nlmsg_build_hdr(Current(), type, NfProto(family_), flags | NLM_F_ACK, seq);
  }
  void End() {
    if (!mnl_nlmsg_batch_next(batch_)) full_ = true;
    ++expected_;
  }
  void SetFamily(Family f) { family_ = f; }

  Status Send() {
    nftnl_batch_end(Current(), socket_.NextSeq());
    if (!mnl_nlmsg_batch_next(batch_)) full_ = true;
    if (full_) return Error::Internal("nftables: element batch too large");
    ssize_t sent = mnl_socket_sendto(socket_.get(), mnl_nlmsg_batch_head(batch_),
                                     mnl_nlmsg_batch_size(batch_));
    if (sent < 0) return Error::System("nftables: send element batch", errno);
    return ReadAcks();
  }

 private:
  char* Current() { return static_cast<char*>(mnl_nlmsg_batch_current(batch_)); }

  Status ReadAcks() {
    // The kernel answers every message of the batch before sendto returns, errors included:
    // all of them are read, so the socket's next query finds its own answer.
    char reply[MNL_SOCKET_BUFFER_SIZE];
    int answered = 0;
    Status first = Ok();
    while (answered < expected_) {
      ssize_t n = first.ok() ? mnl_socket_recvfrom(socket_.get(), reply, sizeof(reply))
                             : ::recv(socket_.fd(), reply, sizeof(reply), MSG_DONTWAIT);
      if (n < 0) {
        if (!first.ok()) break;  // nothing more queued
        return Error::System("nftables: read acks", errno);
      }
      for (auto* nlh = reinterpret_cast<nlmsghdr*>(reply); mnl_nlmsg_ok(nlh, static_cast<int>(n));
           nlh = mnl_nlmsg_next(nlh, reinterpret_cast<int*>(&n))) {
        if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_seq < first_seq_) continue;
        ++answered;
        auto* err = static_cast<nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
        if (err->error != 0 && first.ok()) {
          int e = -err->error;
          first = Error(e == ENOENT ? Code::kNotFound : e == EEXIST ? Code::kExists : Code::kSystem,
                        std::string("nftables: element update: ") + std::strerror(e), e);
        }
      }
    }
    return first;
  }

  NfnlSocket& socket_;
  std::vector<char> buf_;
  mnl_nlmsg_batch* batch_ = nullptr;
  Family family_ = Family::kInet;
  uint32_t first_seq_ = 0;
  int expected_ = 0;
  bool full_ = false;
};

}  // namespace

Status ApplyElements(NfnlSocket& socket, const WireDelta& delta) {
  const ChainDelta& chains = delta.chains;
  if (delta.add.empty() && delta.remove.empty() && chains.empty()) return Ok();
  if (delta.add.size() + delta.remove.size() > kMaxBatchElements) {
    return Error::Invalid("nftables: more elements than one element batch takes");
  }
  // Everything is encoded before anything is sent: a rule without an encoding changes nothing.
  SetIds set_ids;
  std::vector<NftnlSet> new_sets;  // before the rules, which refer to them by id
  for (const Set& s : chains.add_sets) {
    auto w = EncodeDynamicSet(delta.family, delta.table, s, set_ids);
    if (!w) return Error::Invalid("nftables: set " + s.name + " has no encoding");
    new_sets.push_back(std::move(*w));
  }
  std::vector<WireRule> rules;
  size_t map_elements = 0;
  for (const auto* list : {&chains.refill, &chains.add}) {
    for (const ChainBody& c : *list) {
      for (const Rule& r : c.rules) {
        auto w = EncodeRule(delta.family, delta.table, r, set_ids);
        if (!w) return Error::Invalid("nftables: a rule of chain " + c.name + " has no encoding");
        for (const Statement& st : r.statements) {
          if (const auto* n = std::get_if<NumgenGoto>(&st)) map_elements += n->chains.size();
        }
        rules.push_back(std::move(*w));
      }
    }
  }
  // Headers plus, per element, at most a 40-byte key (an IPv6 address, a protocol and a
  // port), a 16-byte value or a chain name and their attributes; per rule its expressions.
  size_t objects = chains.refill.size() + 2 * chains.remove.size() + chains.add.size() +
                   chains.remove_sets.size() + chains.flush_sets.size() + new_sets.size();
  size_t limit = 4096 + (delta.add.size() + delta.remove.size() + map_elements) * 384 +
                 rules.size() * 1024 + objects * 512;
  Batch batch(socket, limit);
  batch.SetFamily(delta.family);

  auto elements = [&](const std::vector<WireElement>& elems, uint16_t type, uint16_t flags) {
    for (auto& [name, set] : Group(delta, elems)) {
      nftnl_set_elems_nlmsg_build_payload(batch.Begin(type, flags), set.get());
      batch.End();
    }
  };
  auto flush_chain = [&](const std::string& name) {
    nftnl_rule_nlmsg_build_payload(batch.Begin(NFT_MSG_DELRULE, 0), ChainRules(delta, name).get());
    batch.End();
  };

  elements(delta.remove, NFT_MSG_DELSETELEM, 0);
  for (const ChainBody& c : chains.refill) flush_chain(c.name);
  for (const std::string& name : chains.remove) flush_chain(name);
  for (const std::string& name : chains.remove) {
    nftnl_chain_nlmsg_build_payload(batch.Begin(NFT_MSG_DELCHAIN, 0),
                                    ChainNamed(delta, name).get());
    batch.End();
  }
  for (const std::string& name : chains.remove_sets) {
    nftnl_set_nlmsg_build_payload(batch.Begin(NFT_MSG_DELSET, 0), NamedSet(delta, name).get());
    batch.End();
  }
  for (const std::string& name : chains.flush_sets) {
    // An element list without elements: the whole set.
    nftnl_set_elems_nlmsg_build_payload(batch.Begin(NFT_MSG_DELSETELEM, 0),
                                        NamedSet(delta, name).get());
    batch.End();
  }
  for (const NftnlSet& s : new_sets) {
    nftnl_set_nlmsg_build_payload(batch.Begin(NFT_MSG_NEWSET, NLM_F_CREATE), s.get());
    batch.End();
  }
  for (const ChainBody& c : chains.add) {
    nftnl_chain_nlmsg_build_payload(batch.Begin(NFT_MSG_NEWCHAIN, NLM_F_CREATE),
                                    ChainNamed(delta, c.name).get());
    batch.End();
  }
  for (const WireRule& r : rules) {
    for (const NftnlSet& m : r.maps) {
      nftnl_set_nlmsg_build_payload(batch.Begin(NFT_MSG_NEWSET, NLM_F_CREATE), m.get());
      batch.End();
      nftnl_set_elems_nlmsg_build_payload(batch.Begin(NFT_MSG_NEWSETELEM, NLM_F_CREATE), m.get());
      batch.End();
    }
    nftnl_rule_nlmsg_build_payload(batch.Begin(NFT_MSG_NEWRULE, NLM_F_APPEND | NLM_F_CREATE),
                                   r.rule.get());
    batch.End();
  }
  elements(delta.add, NFT_MSG_NEWSETELEM, NLM_F_CREATE);
  return batch.Send();
}

}  // namespace berth::firewall
