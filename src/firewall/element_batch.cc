#include "firewall/element_batch.h"

#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <cstring>
#include <map>
#include <vector>


namespace berth::firewall {

namespace {

struct SetFree {
  void operator()(nftnl_set* s) const { nftnl_set_free(s); }
};
using NftSet = std::unique_ptr<nftnl_set, SetFree>;

// One nftnl_set per set name, holding the elements of one verb.
std::map<std::string, NftSet> Group(const WireDelta& delta, const std::vector<WireElement>& elems) {
  std::map<std::string, NftSet> sets;
  for (const WireElement& w : elems) {
    NftSet& s = sets[w.set];
    if (!s) {
      s.reset(nftnl_set_alloc());
      nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, delta.table.c_str());
      nftnl_set_set_str(s.get(), NFTNL_SET_NAME, w.set.c_str());
      nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, NfProto(delta.family));
    }
    nftnl_set_elem* e = nftnl_set_elem_alloc();
    nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, w.key.data(), static_cast<uint32_t>(w.key.size()));
    if (!w.data.empty()) {
      nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, w.data.data(),
                         static_cast<uint32_t>(w.data.size()));
    }
    nftnl_set_elem_add(s.get(), e);  // owned by the set from here
  }
  return sets;
}

}  // namespace

Status ApplyElements(NfnlSocket& socket, const WireDelta& delta) {
  if (delta.add.empty() && delta.remove.empty()) return Ok();
  if (delta.add.size() + delta.remove.size() > kMaxBatchElements) {
    return Error::Invalid("nftables: more elements than one element batch takes");
  }
  // Headers plus, per element, at most a 40-byte key (an IPv6 address, a protocol and a port),
  // a 16-byte value and their attributes.
  std::vector<char> buf(4096 + kMaxBatchElements * 128);
  mnl_nlmsg_batch* batch = mnl_nlmsg_batch_start(buf.data(), buf.size());
  nftnl_batch_begin(static_cast<char*>(mnl_nlmsg_batch_current(batch)), socket.NextSeq());
  mnl_nlmsg_batch_next(batch);
  // Every message asks for an ack, so success is "one ack per message" and a failure names
  // the message that failed; the kernel then aborts the whole batch.
  int expected = 0;
  uint32_t first_seq = socket.NextSeq();  // the first message's
  auto emit = [&](const std::vector<WireElement>& elems, uint16_t type, uint16_t flags) {
    for (auto& [name, set] : Group(delta, elems)) {
      uint32_t seq = expected == 0 ? first_seq : socket.NextSeq();
      nlmsghdr* nlh = nftnl_nlmsg_build_hdr(static_cast<char*>(mnl_nlmsg_batch_current(batch)),
                                            type, NfProto(delta.family), flags | NLM_F_ACK, seq);
      nftnl_set_elems_nlmsg_build_payload(nlh, set.get());
      if (!mnl_nlmsg_batch_next(batch)) return false;
      ++expected;
    }
    return true;
  };
  bool fits = emit(delta.remove, NFT_MSG_DELSETELEM, 0) &&
              emit(delta.add, NFT_MSG_NEWSETELEM, NLM_F_CREATE);
  nftnl_batch_end(static_cast<char*>(mnl_nlmsg_batch_current(batch)), socket.NextSeq());
  mnl_nlmsg_batch_next(batch);
  if (!fits) {
    mnl_nlmsg_batch_stop(batch);
    return Error::Internal("nftables: element batch too large");
  }
  ssize_t sent = mnl_socket_sendto(socket.get(), mnl_nlmsg_batch_head(batch), mnl_nlmsg_batch_size(batch));
  mnl_nlmsg_batch_stop(batch);
  if (sent < 0) return Error::System("nftables: send element batch", errno);

  char reply[MNL_SOCKET_BUFFER_SIZE];
  int acked = 0;
  while (acked < expected) {
    ssize_t n = mnl_socket_recvfrom(socket.get(), reply, sizeof(reply));
    if (n < 0) return Error::System("nftables: read acks", errno);
    for (auto* nlh = reinterpret_cast<nlmsghdr*>(reply); mnl_nlmsg_ok(nlh, static_cast<int>(n));
         nlh = mnl_nlmsg_next(nlh, reinterpret_cast<int*>(&n))) {
      if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_seq < first_seq) continue;
      auto* err = static_cast<nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      if (err->error != 0) {
        int e = -err->error;
        return Error(e == ENOENT ? Code::kNotFound : e == EEXIST ? Code::kExists : Code::kSystem,
                     std::string("nftables: element update: ") + std::strerror(e), e);
      }
      ++acked;
    }
  }
  return Ok();
}

}  // namespace berth::firewall
