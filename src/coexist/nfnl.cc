#include "coexist/nfnl.h"

#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <linux/netfilter/nfnetlink.h>

#include <cerrno>
#include <ctime>

namespace berth::coexist {

Result<Socket> OpenSocket() {
  Socket s(mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC));
  if (!s) return Error::System("open nfnetlink socket", errno);
  if (mnl_socket_bind(s.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    return Error::System("bind nfnetlink socket", errno);
  }
  return s;
}

Status Dump(mnl_socket* nl, uint16_t type, uint8_t family,
            const std::function<void(nlmsghdr*)>& fill,
            const std::function<void(const nlmsghdr*)>& on_msg) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  uint32_t seq = static_cast<uint32_t>(std::time(nullptr));
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, type, family, NLM_F_DUMP, seq);
  fill(nlh);
  if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) return Error::System("nftables dump", errno);
  uint32_t portid = mnl_socket_get_portid(nl);
  auto cb = [](const nlmsghdr* m, void* data) -> int {
    (*static_cast<const std::function<void(const nlmsghdr*)>*>(data))(m);
    return MNL_CB_OK;
  };
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
    if (n < 0) return Error::System("nftables dump", errno);
    int ret = mnl_cb_run(buf, static_cast<size_t>(n), seq, portid, cb,
                         const_cast<std::function<void(const nlmsghdr*)>*>(&on_msg));
    if (ret == MNL_CB_STOP) return Ok();
    if (ret < 0) {
      if (errno == ENOENT) return Ok();  // no such table or chain: nothing to list
      return Error::System("nftables dump", errno);
    }
  }
}

Batch::Batch(uint8_t family, std::string table, size_t rules)
    : family_(family),
      table_(std::move(table)),
      buf_(8192 + rules * 512),
      seq_(static_cast<uint32_t>(std::time(nullptr))) {
  b_ = mnl_nlmsg_batch_start(buf_.data(), buf_.size());
  nftnl_batch_begin(Cur(), seq_++);
  mnl_nlmsg_batch_next(b_);
  first_ = seq_;
}

Batch::~Batch() { mnl_nlmsg_batch_stop(b_); }

char* Batch::Cur() { return static_cast<char*>(mnl_nlmsg_batch_current(b_)); }

nlmsghdr* Batch::Hdr(uint16_t type, uint16_t flags) {
  ++expected_;
  return nftnl_nlmsg_build_hdr(Cur(), type, family_, flags | NLM_F_ACK, seq_++);
}

void Batch::Chain(uint16_t type, const char* name) {
  ChainPtr c(nftnl_chain_alloc());
  nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, family_);
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, table_.c_str());
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, name);
  nftnl_chain_nlmsg_build_payload(Hdr(type, NLM_F_CREATE), c.get());
  mnl_nlmsg_batch_next(b_);
}

void Batch::RuleMsg(uint16_t type, uint16_t flags, nftnl_rule* r) {
  nftnl_rule_nlmsg_build_payload(Hdr(type, flags), r);
  mnl_nlmsg_batch_next(b_);
}

Status Batch::Send(mnl_socket* nl) {
  nftnl_batch_end(Cur(), seq_++);
  mnl_nlmsg_batch_next(b_);
  if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(b_), mnl_nlmsg_batch_size(b_)) < 0) {
    return Error::System("nftables: send batch", errno);
  }
  char reply[MNL_SOCKET_BUFFER_SIZE];
  int acked = 0;
  while (acked < expected_) {
    ssize_t n = mnl_socket_recvfrom(nl, reply, sizeof(reply));
    if (n < 0) return Error::System("nftables: read acks", errno);
    int left = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(reply); mnl_nlmsg_ok(h, left);
         h = mnl_nlmsg_next(h, &left)) {
      if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq < first_) continue;
      auto* err = static_cast<nlmsgerr*>(mnl_nlmsg_get_payload(h));
      if (err->error != 0) return Error::System("nftables: table " + table_, -err->error);
      ++acked;
    }
  }
  return Ok();
}

}  // namespace berth::coexist
