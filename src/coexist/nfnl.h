// The nfnetlink plumbing of the iptables-nft backend (libmnl + libnftnl): a socket, a dump
// with a callback per message, and a batch that is one nftables transaction. Kept apart so
// iptables_nft.cc holds only what iptables-nft's format is.
#pragma once

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"

namespace berth::coexist {

struct MnlClose {
  void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};
struct ChainFree {
  void operator()(nftnl_chain* c) const { nftnl_chain_free(c); }
};
struct RuleFree {
  void operator()(nftnl_rule* r) const { nftnl_rule_free(r); }
};
using Socket = std::unique_ptr<mnl_socket, MnlClose>;
using ChainPtr = std::unique_ptr<nftnl_chain, ChainFree>;
using RulePtr = std::unique_ptr<nftnl_rule, RuleFree>;

Result<Socket> OpenSocket();

/// One dump request of `type` in `family`; `fill` adds the filter attributes, `on_msg` sees
/// each reply. A missing table or chain is an empty dump.
Status Dump(mnl_socket* nl, uint16_t type, uint8_t family,
            const std::function<void(nlmsghdr*)>& fill,
            const std::function<void(const nlmsghdr*)>& on_msg);

/// One nftables transaction on `table` of `family`: every message acked, the first failure
/// reported (the kernel then applies none of it).
class Batch {
 public:
  /// Room for `rules` rules (one with an xt match is under 512 bytes) and chain messages.
  Batch(uint8_t family, std::string table, size_t rules);
  ~Batch();
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  /// NEWCHAIN (existing is fine) or DELCHAIN of a regular chain.
  void Chain(uint16_t type, const char* name);
  void RuleMsg(uint16_t type, uint16_t flags, nftnl_rule* r);
  Status Send(mnl_socket* nl);

 private:
  char* Cur();
  nlmsghdr* Hdr(uint16_t type, uint16_t flags);

  uint8_t family_;
  std::string table_;
  std::vector<char> buf_;
  mnl_nlmsg_batch* b_;
  uint32_t seq_, first_ = 0;
  int expected_ = 0;
};

}  // namespace berth::coexist
