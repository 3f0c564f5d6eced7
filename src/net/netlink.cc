#include "net/netlink.h"

#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <sys/socket.h>

#include <cstring>

#include "sys/netns.h"

namespace berth::net {

namespace {

/// The last error ack this thread received: the kernel's errno and its explanation.
struct KernelReason {
  int err = 0;
  std::string text;
};
thread_local KernelReason t_last_error;

/// libnl calls this for every error ack, before it turns the errno into an NLE_* code.
int KeepKernelReason(sockaddr_nl*, nlmsgerr* e, void*) {
  // libnl hands over the payload of the NLMSG_ERROR message; its header sits right before it.
  const auto* hdr =
      reinterpret_cast<const nlmsghdr*>(reinterpret_cast<const char*>(e) - NLMSG_HDRLEN);
  t_last_error = {-e->error, ExtackMessage(hdr)};
  return NL_STOP;  // what libnl does without a callback: the call fails with this error
}

/// The kernel's reason for `nl_err` when it is the last error this thread received; forgets it
/// either way so it cannot be pinned on a later error.
KernelReason TakeKernelReason(int nl_err) {
  KernelReason last = std::move(t_last_error);
  t_last_error = {};
  if (last.err <= 0 || nl_syserr2nlerr(last.err) != nl_err) return {};
  return last;
}

}  // namespace

std::string ExtackMessage(const nlmsghdr* hdr) {
  if (hdr->nlmsg_type != NLMSG_ERROR || !(hdr->nlmsg_flags & NLM_F_ACK_TLVS)) return "";
  const size_t len = hdr->nlmsg_len;
  if (len < NLMSG_HDRLEN + sizeof(nlmsgerr)) return "";
  const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(hdr));
  // The TLVs follow nlmsgerr and, unless the kernel capped the ack, the echoed request.
  size_t offset = NLMSG_HDRLEN + sizeof(nlmsgerr);
  if (!(hdr->nlmsg_flags & NLM_F_CAPPED)) {
    if (e->msg.nlmsg_len < NLMSG_HDRLEN) return "";
    offset += e->msg.nlmsg_len - NLMSG_HDRLEN;
  }
  offset = NLMSG_ALIGN(offset);
  if (offset >= len) return "";
  const char* base = reinterpret_cast<const char*>(hdr);
  const auto* attrs = reinterpret_cast<const nlattr*>(base + offset);
  const nlattr* msg = nla_find(attrs, static_cast<int>(len - offset), NLMSGERR_ATTR_MSG);
  if (!msg) return "";
  const auto* text = static_cast<const char*>(nla_data(msg));
  return std::string(text, strnlen(text, static_cast<size_t>(nla_len(msg))));
}

bool IsNlNotFound(int nl_err) {
  int e = nl_err < 0 ? -nl_err : nl_err;
  return e == NLE_OBJ_NOTFOUND || e == NLE_NODEV;
}

Error NlError(std::string_view what, int nl_err) {
  int e = nl_err < 0 ? -nl_err : nl_err;
  std::string msg = std::string(what) + ": " + nl_geterror(e);
  KernelReason kernel = TakeKernelReason(e);
  if (!kernel.text.empty()) msg += " (kernel: " + kernel.text + ")";
  if (e == NLE_EXIST) return Error(Code::kExists, msg, EEXIST);
  if (IsNlNotFound(e)) return Error(Code::kNotFound, msg, ENODEV);
  if (e == NLE_PERM || e == NLE_NOACCESS) return Error(Code::kSystem, msg, EPERM);
  return Error(Code::kSystem, msg, kernel.err);
}

Result<NlSocket> OpenRouteSocket() {
  NlSocket sock(nl_socket_alloc());
  if (!sock) return Error::System("allocate netlink socket", ENOMEM);
  int err = nl_connect(sock.get(), NETLINK_ROUTE);
  if (err < 0) return NlError("connect netlink socket", err);
  // Kernel error strings (extack) make "Invalid argument" say what was invalid (see netlink.h).
  int one = 1;
  setsockopt(nl_socket_get_fd(sock.get()), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
  nl_socket_modify_err_cb(sock.get(), NL_CB_CUSTOM, KeepKernelReason, nullptr);
  return sock;
}

Result<NlSocket> OpenRouteSocketIn(int netns_fd) {
  BERTH_ASSIGN_OR_RETURN(auto guard, sys::ScopedNetns::Enter(netns_fd));
  return OpenRouteSocket();
}

NlAddr ToNlAddr(const IpAddr& ip, int prefix) {
  NlAddr a(nl_addr_build(ip.is_v4() ? AF_INET : AF_INET6, ip.data(), ip.size()));
  nl_addr_set_prefixlen(a.get(), prefix);
  return a;
}

IpAddr FromNlAddr(const nl_addr* a) {
  auto* bytes = static_cast<const uint8_t*>(nl_addr_get_binary_addr(a));
  return IpAddr::FromBytes(nl_addr_get_family(a) == AF_INET6, bytes);
}

Result<NlLink> GetLink(nl_sock* sock, const std::string& name) {
  rtnl_link* raw = nullptr;
  int err = rtnl_link_get_kernel(sock, 0, name.c_str(), &raw);
  if (err < 0) {
    if (IsNlNotFound(err)) return NlLink();
    return NlError("look up link " + name, err);
  }
  return NlLink(raw);
}

Status AddAddressWith(nl_sock* sock, int ifindex, const Cidr& address) {
  NlRtAddr addr(rtnl_addr_alloc());
  rtnl_addr_set_ifindex(addr.get(), ifindex);
  NlAddr local = ToNlAddr(address.addr(), address.prefix());
  rtnl_addr_set_local(addr.get(), local.get());
  if (address.is_v4() && address.prefix() < 31) {
    NlAddr brd = ToNlAddr(Cidr(address.addr(), address.prefix()).Last(), 32);
    rtnl_addr_set_broadcast(addr.get(), brd.get());
  }
  int err = rtnl_addr_add(sock, addr.get(), NLM_F_EXCL);
  if (err < 0) return NlError("add address", err);
  return Ok();
}

Status DeleteLinkWith(nl_sock* sock, const std::string& name) {
  NlLink link(rtnl_link_alloc());
  rtnl_link_set_name(link.get(), name.c_str());
  int err = rtnl_link_delete(sock, link.get());
  if (err < 0 && !IsNlNotFound(err)) return NlError("delete link", err);
  return Ok();
}

}  // namespace berth::net
