#include "firewall/nfnl_socket.h"

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>

#include <cerrno>
#include <ctime>
#include <utility>
#include <vector>

namespace berth::firewall {

Result<NfnlSocket> NfnlSocket::Open(bool nonblocking) {
  mnl_socket* nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0));
  if (!nl) return Error::System("open nfnetlink socket", errno);
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    int err = errno;
    mnl_socket_close(nl);
    return Error::System("bind nfnetlink socket", err);
  }
  NfnlSocket s(nl);
  s.portid_ = mnl_socket_get_portid(nl);
  s.seq_ = static_cast<uint32_t>(std::time(nullptr));
  return s;
}

NfnlSocket::NfnlSocket(NfnlSocket&& o) noexcept
    : nl_(std::exchange(o.nl_, nullptr)), portid_(o.portid_), seq_(o.seq_) {}

NfnlSocket& NfnlSocket::operator=(NfnlSocket&& o) noexcept {
  if (this != &o) {
    if (nl_) mnl_socket_close(nl_);
    nl_ = std::exchange(o.nl_, nullptr);
    portid_ = o.portid_;
    seq_ = o.seq_;
  }
  return *this;
}

NfnlSocket::~NfnlSocket() {
  if (nl_) mnl_socket_close(nl_);
}

int NfnlSocket::fd() const { return mnl_socket_get_fd(nl_); }

namespace {

int Trampoline(const nlmsghdr* nlh, void* data) {
  (*static_cast<const std::function<void(const nlmsghdr*)>*>(data))(nlh);
  return MNL_CB_OK;
}

}  // namespace

Status NfnlSocket::Query(const nlmsghdr* nlh,
                         const std::function<void(const nlmsghdr*)>& on_reply) {
  if (mnl_socket_sendto(nl_, nlh, nlh->nlmsg_len) < 0) {
    return Error::System("nfnetlink: send", errno);
  }
  // A dump's replies come in batches of up to 32 KiB (libmnl's MNL_SOCKET_DUMP_SIZE).
  std::vector<char> buf(32768);
  void* data = const_cast<std::function<void(const nlmsghdr*)>*>(&on_reply);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl_, buf.data(), buf.size());
    if (n < 0) return Error::System("nfnetlink: receive", errno);
    int rc = mnl_cb_run(buf.data(), static_cast<size_t>(n), nlh->nlmsg_seq, portid_, Trampoline,
                        data);
    if (rc < 0) {
      int err = errno;
      // An interrupted dump (another program changed nftables meanwhile) still has the rest
      // of its messages queued: read them away, or the next query on this socket would find
      // them instead of its own answer.
      if (err == EINTR) Drain(nlh->nlmsg_seq, buf.data(), static_cast<size_t>(n));
      return Error::System("nfnetlink", err);
    }
    if (rc == MNL_CB_STOP) return Ok();
  }
}

void NfnlSocket::Drain(uint32_t seq, char* buf, size_t len) {
  std::vector<char> more;
  for (int reads = 0; reads < 1024; ++reads) {
    int left = static_cast<int>(len);
    for (auto* m = reinterpret_cast<nlmsghdr*>(buf); mnl_nlmsg_ok(m, left);
         m = mnl_nlmsg_next(m, &left)) {
      if (m->nlmsg_seq == seq && (m->nlmsg_type == NLMSG_DONE || m->nlmsg_type == NLMSG_ERROR)) {
        return;
      }
    }
    if (more.empty()) more.resize(32768);
    ssize_t n = mnl_socket_recvfrom(nl_, more.data(), more.size());
    if (n <= 0) return;
    buf = more.data();
    len = static_cast<size_t>(n);
  }
}

void ForEachAttr(const nlmsghdr* nlh, const std::function<void(const nlattr*)>& f) {
  const auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg)));
  const char* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  for (; mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char*>(attr)));
       attr = mnl_attr_next(attr)) {
    f(attr);
  }
}

void ForEachNested(const nlattr* nest, const std::function<void(const nlattr*)>& f) {
  const auto* attr = static_cast<const nlattr*>(mnl_attr_get_payload(nest));
  const char* tail = reinterpret_cast<const char*>(nest) + mnl_attr_get_len(nest);
  for (; mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char*>(attr)));
       attr = mnl_attr_next(attr)) {
    f(attr);
  }
}

std::string_view AttrString(const nlattr* attr) {
  const char* p = static_cast<const char*>(mnl_attr_get_payload(attr));
  uint16_t len = mnl_attr_get_payload_len(attr);
  if (len == 0 || p[len - 1] != '\0') return {};
  return std::string_view(p);
}

}  // namespace berth::firewall
