// The kernel's extended ack text reaching berth's errors: parsing NLMSG_ERROR messages built by
// hand (no kernel needed), and one real refusal inside tests/sandbox.sh.
#include "net/netlink.h"

#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <netlink/route/link/bridge.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "net/nl_link_ops.h"

namespace berth::net {
namespace {

/// An NLMSG_ERROR message as the kernel builds it: nlmsgerr, then (unless `capped`) the
/// request's payload, then the TLVs, here one NLMSGERR_ATTR_MSG.
std::vector<char> ErrorAck(const std::string& text, bool capped, size_t request_payload) {
  size_t offset = NLMSG_HDRLEN + sizeof(nlmsgerr) + (capped ? 0 : request_payload);
  offset = NLMSG_ALIGN(offset);
  size_t attr_len = NLA_HDRLEN + text.size() + 1;
  std::vector<char> buf(offset + NLA_ALIGN(attr_len), 0);
  auto* hdr = reinterpret_cast<nlmsghdr*>(buf.data());
  hdr->nlmsg_len = static_cast<uint32_t>(buf.size());
  hdr->nlmsg_type = NLMSG_ERROR;
  hdr->nlmsg_flags = NLM_F_ACK_TLVS | (capped ? NLM_F_CAPPED : 0);
  auto* err = static_cast<nlmsgerr*>(NLMSG_DATA(hdr));
  err->error = -EINVAL;
  err->msg.nlmsg_len = static_cast<uint32_t>(NLMSG_HDRLEN + request_payload);
  auto* attr = reinterpret_cast<nlattr*>(buf.data() + offset);
  attr->nla_len = static_cast<uint16_t>(attr_len);
  attr->nla_type = NLMSGERR_ATTR_MSG;
  std::memcpy(buf.data() + offset + NLA_HDRLEN, text.c_str(), text.size() + 1);
  return buf;
}

TEST(NetlinkErrorTest, ExtackMessageFromCappedAndFullAcks) {
  for (bool capped : {true, false}) {
    auto buf = ErrorAck("mtu less than device minimum", capped, 36);
    EXPECT_EQ(ExtackMessage(reinterpret_cast<nlmsghdr*>(buf.data())),
              "mtu less than device minimum")
        << capped;
  }
  auto plain = ErrorAck("x", true, 0);
  reinterpret_cast<nlmsghdr*>(plain.data())->nlmsg_flags = 0;  // no TLVs announced
  EXPECT_EQ(ExtackMessage(reinterpret_cast<nlmsghdr*>(plain.data())), "");
  auto lying = ErrorAck("x", false, 16);
  reinterpret_cast<nlmsgerr*>(NLMSG_DATA(reinterpret_cast<nlmsghdr*>(lying.data())))
      ->msg.nlmsg_len = 1 << 20;  // an echoed request longer than the message
  EXPECT_EQ(ExtackMessage(reinterpret_cast<nlmsghdr*>(lying.data())), "");
}

TEST(NetlinkErrorTest, NoKernelReasonWithoutAKernelError) {
  Error e = NlError("create bridge", -NLE_INVAL);
  EXPECT_EQ(e.message(), std::string("create bridge: ") + nl_geterror(NLE_INVAL));
  EXPECT_EQ(e.code(), Code::kSystem);
}

/// Inside tests/sandbox.sh: a network namespace of its own, so creating links is harmless.
bool InSandbox() {
  const char* parent = std::getenv("BERTH_SANDBOX_PARENT_NETNS");
  struct stat st;
  if (!parent || ::stat("/proc/self/ns/net", &st) != 0) return false;
  return std::to_string(st.st_ino) != parent && ::geteuid() == 0;
}

TEST(NetlinkErrorTest, KernelReasonReachesTheError) {
  if (!InSandbox()) GTEST_SKIP() << "creates links: run under tests/sandbox.sh as root";
  auto ops = NlLinkOps::Open();
  ASSERT_TRUE(ops.ok()) << ops.error().message();
  // A bridge's minimum MTU is 68: the kernel refuses with EINVAL and says why.
  auto made = (*ops)->EnsureBridge({"berr0", *Cidr::ParseInterface("10.231.0.1/24"), 50});
  ASSERT_FALSE(made.ok());
  const std::string& msg = made.error().message();
  EXPECT_NE(msg.find("create bridge: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("(kernel: mtu less than device minimum)"), std::string::npos) << msg;
  EXPECT_EQ(made.error().sys_errno(), EINVAL);
  // Taken once: a later error without a kernel reason does not inherit it.
  EXPECT_EQ(NlError("x", -NLE_INVAL).message().find("kernel"), std::string::npos);
  // Nor does a later error of another kind when the reason was never taken.
  auto sock = OpenRouteSocket();
  ASSERT_TRUE(sock.ok());
  NlLink br(rtnl_link_bridge_alloc());
  rtnl_link_set_name(br.get(), "berr1");
  rtnl_link_set_mtu(br.get(), 50);
  ASSERT_EQ(rtnl_link_add(sock->get(), br.get(), NLM_F_CREATE | NLM_F_EXCL), -NLE_INVAL);
  EXPECT_EQ(NlError("y", -NLE_NOMEM).message().find("kernel"), std::string::npos);
}

}  // namespace
}  // namespace berth::net
