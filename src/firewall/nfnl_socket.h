// NfnlSocket: one nfnetlink (NETLINK_NETFILTER) socket opened with libmnl, for the small
// nf_tables queries and the event subscription of nft_generation, nft_verify and nft_monitor.
// One request at a time: Query() sends a message and reads its replies to the end (an ack, an
// error or the end of a dump).
//
// Move-only; not thread-safe (one owner).
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "core/error.h"

struct mnl_socket;
struct nlattr;
struct nlmsghdr;

namespace berth::firewall {

class NfnlSocket {
 public:
  /// A socket bound to an automatic port id; `nonblocking` for a poll loop.
  static Result<NfnlSocket> Open(bool nonblocking = false);

  NfnlSocket(NfnlSocket&& o) noexcept;
  NfnlSocket& operator=(NfnlSocket&& o) noexcept;
  NfnlSocket(const NfnlSocket&) = delete;
  NfnlSocket& operator=(const NfnlSocket&) = delete;
  ~NfnlSocket();

  int fd() const;
  mnl_socket* get() const { return nl_; }

  /// The next sequence number; the caller puts it in its request's header.
  uint32_t NextSeq() { return ++seq_; }

  /// Sends the request `nlh` (built with NextSeq()) and hands each reply message to `on_reply`
  /// until the kernel's ack or the end of the dump. A kernel error becomes the Status (ENOENT:
  /// Code::kNotFound).
  Status Query(const nlmsghdr* nlh, const std::function<void(const nlmsghdr*)>& on_reply);

 private:
  explicit NfnlSocket(mnl_socket* nl) : nl_(nl) {}
  /// Reads and drops the rest of request `seq`'s answer, starting with the `len` bytes in
  /// `buf`, up to its end (NLMSG_DONE or an error message).
  void Drain(uint32_t seq, char* buf, size_t len);
  mnl_socket* nl_ = nullptr;
  unsigned portid_ = 0;
  uint32_t seq_ = 0;
};

/// Calls `f` on each top-level attribute of an nf_tables message (after its nfgenmsg), or on
/// each attribute nested in `nest`. (libmnl's mnl_attr_for_each macros are C only.)
void ForEachAttr(const nlmsghdr* nlh, const std::function<void(const nlattr*)>& f);
void ForEachNested(const nlattr* nest, const std::function<void(const nlattr*)>& f);
/// A NUL-terminated string attribute's text; "" when it is not one.
std::string_view AttrString(const nlattr* attr);

}  // namespace berth::firewall
