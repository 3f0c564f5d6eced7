#include "firewall/nft_monitor.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <string_view>
#include <vector>

namespace berth::firewall {

namespace {

// The top-level attributes of an nf_tables event this monitor looks at. Every object's table
// is attribute 1 (NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE,
// NFTA_SET_ELEM_LIST_TABLE); a rule's chain is NFTA_RULE_CHAIN.
struct Event {
  std::string_view table, rule_chain, proc_name;
  uint32_t proc_pid = 0;
  uint32_t table_flags = 0;
};

Event ParseEvent(const nlmsghdr* nlh, uint16_t type) {
  Event e;
  ForEachAttr(nlh, [&](const nlattr* attr) {
    uint16_t a = mnl_attr_get_type(attr);
    bool is_u32 = mnl_attr_get_payload_len(attr) == sizeof(uint32_t);
    if (type == NFT_MSG_NEWGEN) {
      if (a == NFTA_GEN_PROC_PID && is_u32) e.proc_pid = ntohl(mnl_attr_get_u32(attr));
      if (a == NFTA_GEN_PROC_NAME) e.proc_name = AttrString(attr);
      return;
    }
    static_assert(NFTA_TABLE_NAME == 1 && NFTA_CHAIN_TABLE == 1 && NFTA_RULE_TABLE == 1 &&
                  NFTA_SET_TABLE == 1 && NFTA_SET_ELEM_LIST_TABLE == 1);
    if (a == 1) e.table = AttrString(attr);
    if (type == NFT_MSG_DELRULE && a == NFTA_RULE_CHAIN) e.rule_chain = AttrString(attr);
    if (type == NFT_MSG_NEWTABLE && a == NFTA_TABLE_FLAGS && is_u32) {
      e.table_flags = ntohl(mnl_attr_get_u32(attr));
    }
  });
  return e;
}

std::string OwnComm() {
  std::ifstream in("/proc/self/comm");
  std::string comm;
  std::getline(in, comm);
  return comm;
}

}  // namespace

NftMonitor::NftMonitor(NfnlSocket socket, MonitorOptions options)
    : socket_(std::move(socket)), options_(std::move(options)), own_pid_(::getpid()), buf_(1 << 16) {}

Result<NftMonitor> NftMonitor::Open(MonitorOptions options) {
  BERTH_ASSIGN_OR_RETURN(NfnlSocket socket, NfnlSocket::Open(/*nonblocking=*/true));
  int group = NFNLGRP_NFTABLES;
  if (mnl_socket_setsockopt(socket.get(), NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
    return Error::System("nftables monitor: join NFNLGRP_NFTABLES", errno);
  }
  // FORCE passes the rmem_max limit (berthd has CAP_NET_ADMIN); else take what is allowed.
  int size = options.receive_buffer;
  if (::setsockopt(socket.fd(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0) {
    ::setsockopt(socket.fd(), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  std::string comm = OwnComm();
  if (!comm.empty()) options.own_processes.push_back(std::move(comm));
  return NftMonitor(std::move(socket), std::move(options));
}

bool NftMonitor::OwnProcess(uint32_t pid, std::string_view name) const {
  if (pid == own_pid_) return true;
  return std::find(options_.own_processes.begin(), options_.own_processes.end(), name) !=
         options_.own_processes.end();
}

void NftMonitor::HandleMessage(const nlmsghdr* nlh) {
  if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES) return;
  if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(nfgenmsg))) return;
  uint16_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);
  const auto* gen = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh));
  if (type == NFT_MSG_NEWGEN) {
    ++stats_.transactions;
    if (pending_) {
      Event e = ParseEvent(nlh, type);
      if (OwnProcess(e.proc_pid, e.proc_name)) {
        ++stats_.own_ignored;
      } else {
        ++stats_.foreign_damage;
        damaged_ = true;
      }
    }
    pending_ = false;
    return;
  }
  if (gen->nfgen_family != NFPROTO_INET) return;
  switch (type) {
    case NFT_MSG_DELTABLE:
    case NFT_MSG_DELCHAIN:
    case NFT_MSG_DELRULE:
    case NFT_MSG_DELSET:
    case NFT_MSG_DELSETELEM:
    case NFT_MSG_NEWTABLE:  // only when it turns the table dormant, see below
      break;
    default:
      return;
  }
  Event e = ParseEvent(nlh, type);
  if (e.table != options_.table) return;
  if (type == NFT_MSG_NEWTABLE && !(e.table_flags & NFT_TABLE_F_DORMANT)) return;
  if (type == NFT_MSG_DELRULE &&
      std::find(options_.admin_chains.begin(), options_.admin_chains.end(), e.rule_chain) !=
          options_.admin_chains.end()) {
    return;
  }
  pending_ = true;
}

Result<bool> NftMonitor::Drain() {
  for (;;) {
    ssize_t n = ::recv(socket_.fd(), buf_.data(), buf_.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == ENOBUFS) {
        // Events were dropped, the transaction in progress may be half seen: verify.
        ++stats_.overruns;
        damaged_ = true;
        pending_ = false;
        continue;
      }
      return Error::System("nftables monitor: receive", errno);
    }
    int len = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf_.data()); mnl_nlmsg_ok(nlh, len);
         nlh = mnl_nlmsg_next(nlh, &len)) {
      HandleMessage(nlh);
    }
  }
  bool damaged = damaged_;
  damaged_ = false;
  return damaged;
}

}  // namespace berth::firewall
