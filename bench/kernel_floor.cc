// kernel_floor: only the unavoidable kernel work of attaching (or detaching) one container with
// one published port, through raw netlink, as a short-lived process started once per operation
// exactly like a CNI plugin. It is the limit berth's attach and detach are measured against
// (bench/attach_detach.py): no state, no IPAM, no JSON, no library, no retries.
//
//   kernel_floor add NETNS_PATH HOST_IF HOST_IFINDEX BRIDGE IP/PREFIX GATEWAY HOST_PORT
//   kernel_floor del HOST_IF HOST_PORT
//
// add: one RTM_NEWLINK creates the veth pair with its peer straight inside the container netns
// (IFLA_NET_NS_FD), named eth0 with ifindex 2, the host end up and enslaved to BRIDGE; then,
// on a socket opened inside the netns, lo and eth0 up + address + default route in one send; and
// one nfnetlink batch adding `tcp . HOST_PORT : IP . 80` to the map `inet floor pub`. Every
// request is sent before any ack is read (rtnetlink handles a request inside sendmsg), so the
// whole attach is 3 sends and one receive per socket.
// del: RTM_DELLINK of the host end (the kernel removes the peer with it) and the map element.
//
// The harness creates, once and outside the timing, the bridge with the gateway address and
// the table (bench/attach_detach.py, KernelFloor.setup_network):
//   table inet floor { map pub { type inet_proto . inet_service : ipv4_addr . inet_service; } ... }
// HOST_IFINDEX must be free in the calling netns: asking for an ifindex is what lets the peer
// get a known one (2) inside the new netns, so no lookup round trip is needed there.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

[[noreturn]] void Die(const char* what, int err) {
  std::fprintf(stderr, "kernel_floor: %s: %s\n", what, std::strerror(err));
  std::exit(1);
}

// A netlink message under construction in a fixed buffer; several messages can share one
// buffer (Next) and go out in one sendmsg.
class Msg {
 public:
  explicit Msg(char* buf, size_t cap) : buf_(buf), cap_(cap) {}

  nlmsghdr* Begin(uint16_t type, uint16_t flags, uint32_t seq) {
    hdr_ = reinterpret_cast<nlmsghdr*>(buf_ + off_);
    Need(NLMSG_HDRLEN);
    std::memset(hdr_, 0, NLMSG_HDRLEN);
    hdr_->nlmsg_len = NLMSG_HDRLEN;
    hdr_->nlmsg_type = type;
    hdr_->nlmsg_flags = flags;
    hdr_->nlmsg_seq = seq;
    return hdr_;
  }
  void* Put(const void* data, size_t len) {  // raw, aligned
    size_t at = off_ + hdr_->nlmsg_len;
    Need(hdr_->nlmsg_len + NLMSG_ALIGN(len));
    std::memset(buf_ + at, 0, NLMSG_ALIGN(len));
    if (data) std::memcpy(buf_ + at, data, len);
    hdr_->nlmsg_len += NLMSG_ALIGN(len);
    return buf_ + at;
  }
  void Attr(uint16_t type, const void* data, size_t len) {
    nlattr a{static_cast<uint16_t>(NLA_HDRLEN + len), type};
    Put(&a, NLA_HDRLEN);  // 4 bytes: already aligned
    Put(data, len);
  }
  void U32(uint16_t type, uint32_t v) { Attr(type, &v, 4); }
  void Str(uint16_t type, const char* s) { Attr(type, s, std::strlen(s) + 1); }
  size_t Nest(uint16_t type) {
    size_t at = off_ + hdr_->nlmsg_len;
    nlattr a{NLA_HDRLEN, static_cast<uint16_t>(type | NLA_F_NESTED)};
    Put(&a, NLA_HDRLEN);
    return at;
  }
  void End(size_t at) {
    reinterpret_cast<nlattr*>(buf_ + at)->nla_len =
        static_cast<uint16_t>(off_ + hdr_->nlmsg_len - at);
  }
  void Next() { off_ += hdr_->nlmsg_len; }  // finish this message; the next Begin follows it
  size_t size() const { return off_; }
  const char* data() const { return buf_; }

 private:
  void Need(size_t len) {
    if (off_ + len > cap_) Die("message buffer", ENOBUFS);
  }
  char* buf_;
  size_t cap_;
  size_t off_ = 0;
  nlmsghdr* hdr_ = nullptr;
};

int Socket(int proto) {
  int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, proto);
  if (fd < 0) Die("socket", errno);
  int one = 1;
  ::setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
  return fd;
}

void Send(int fd, const Msg& m) {
  sockaddr_nl to{};
  to.nl_family = AF_NETLINK;
  if (::sendto(fd, m.data(), m.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) < 0) {
    Die("sendto", errno);
  }
}

// Reads `acks` acknowledgements; the first error wins (EEXIST/ENOENT count as errors here:
// the harness gives every operation fresh names).
void ReadAcks(int fd, int acks, const char* what) {
  alignas(nlmsghdr) char buf[8192];
  while (acks > 0) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0) Die(what, errno);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type != NLMSG_ERROR) continue;
      auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
      if (e->error != 0) Die(what, -e->error);
      --acks;
    }
  }
}

// `inet_proto . inet_service` and `ipv4_addr . inet_service`: each part in a 32-bit register.
void PortKey(uint8_t out[8], uint16_t port) {
  std::memset(out, 0, 8);
  out[0] = IPPROTO_TCP;
  uint16_t p = htons(port);
  std::memcpy(out + 4, &p, 2);
}

void NftElement(Msg& m, bool add, uint16_t port, in_addr ip) {
  nfgenmsg batch{AF_UNSPEC, NFNETLINK_V0, htons(NFNL_SUBSYS_NFTABLES)};
  m.Begin(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 1);
  m.Put(&batch, sizeof(batch));
  m.Next();
  uint16_t type = (NFNL_SUBSYS_NFTABLES << 8) | (add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM);
  m.Begin(type, NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0), 2);
  nfgenmsg g{NFPROTO_INET, NFNETLINK_V0, 0};
  m.Put(&g, sizeof(g));
  m.Str(NFTA_SET_ELEM_LIST_TABLE, "floor");
  m.Str(NFTA_SET_ELEM_LIST_SET, "pub");
  size_t list = m.Nest(NFTA_SET_ELEM_LIST_ELEMENTS);
  size_t elem = m.Nest(NFTA_LIST_ELEM);
  uint8_t key[8];
  PortKey(key, port);
  size_t k = m.Nest(NFTA_SET_ELEM_KEY);
  m.Attr(NFTA_DATA_VALUE, key, sizeof(key));
  m.End(k);
  if (add) {
    uint8_t data[8] = {};
    std::memcpy(data, &ip, 4);
    uint16_t p = htons(80);
    std::memcpy(data + 4, &p, 2);
    size_t d = m.Nest(NFTA_SET_ELEM_DATA);
    m.Attr(NFTA_DATA_VALUE, data, sizeof(data));
    m.End(d);
  }
  m.End(elem);
  m.End(list);
  m.Next();
  m.Begin(NFNL_MSG_BATCH_END, NLM_F_REQUEST, 3);
  m.Put(&batch, sizeof(batch));
  m.Next();
}

int Add(char** argv) {
  const char* netns_path = argv[0];
  const char* host_if = argv[1];
  int host_index = std::atoi(argv[2]);
  const char* bridge = argv[3];
  char cidr[64];
  std::snprintf(cidr, sizeof(cidr), "%s", argv[4]);
  char* slash = std::strchr(cidr, '/');
  if (!slash) Die("IP/PREFIX", EINVAL);
  *slash = 0;
  int prefix = std::atoi(slash + 1);
  in_addr ip{}, gw{};
  if (inet_pton(AF_INET, cidr, &ip) != 1 || inet_pton(AF_INET, argv[5], &gw) != 1) {
    Die("address", EINVAL);
  }
  uint16_t port = static_cast<uint16_t>(std::atoi(argv[6]));
  unsigned bridge_index = if_nametoindex(bridge);
  if (bridge_index == 0) Die("bridge", errno);

  int host = Socket(NETLINK_ROUTE);
  int nft = Socket(NETLINK_NETFILTER);
  int netns = ::open(netns_path, O_RDONLY | O_CLOEXEC);
  if (netns < 0) Die("open netns", errno);
  alignas(nlmsghdr) char buf[4096];

  // Host: the veth pair, peer inside the netns as eth0 (ifindex 2), both up, host end bridged.
  Msg link(buf, sizeof(buf));
  link.Begin(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 1);
  ifinfomsg ifi{};
  ifi.ifi_index = host_index;
  ifi.ifi_flags = IFF_UP;
  ifi.ifi_change = IFF_UP;
  link.Put(&ifi, sizeof(ifi));
  link.Str(IFLA_IFNAME, host_if);
  link.U32(IFLA_MASTER, bridge_index);
  size_t info = link.Nest(IFLA_LINKINFO);
  link.Str(IFLA_INFO_KIND, "veth");
  size_t data = link.Nest(IFLA_INFO_DATA);
  size_t peer = link.Nest(VETH_INFO_PEER);
  ifinfomsg pifi{};
  pifi.ifi_index = 2;  // not IFF_UP here: veth_open() fails (ENOTCONN) before the pair exists
  link.Put(&pifi, sizeof(pifi));
  link.Str(IFLA_IFNAME, "eth0");
  link.U32(IFLA_NET_NS_FD, static_cast<uint32_t>(netns));
  link.End(peer);
  link.End(data);
  link.End(info);
  link.Next();
  Send(host, link);

  // Firewall: the published port, one transaction.
  Msg fw(buf, sizeof(buf));
  NftElement(fw, true, port, ip);
  Send(nft, fw);

  // Container: a socket opened inside the netns; lo up, address, default route in one send.
  if (::setns(netns, CLONE_NEWNET) != 0) Die("setns", errno);
  int ctr = Socket(NETLINK_ROUTE);
  Msg c(buf, sizeof(buf));
  c.Begin(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 1);
  ifinfomsg lo{};
  lo.ifi_index = 1;
  lo.ifi_flags = IFF_UP;
  lo.ifi_change = IFF_UP;
  c.Put(&lo, sizeof(lo));
  c.Next();
  c.Begin(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 4);
  ifinfomsg eth0 = lo;
  eth0.ifi_index = 2;
  c.Put(&eth0, sizeof(eth0));
  c.Next();
  c.Begin(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 2);
  ifaddrmsg ifa{AF_INET, static_cast<unsigned char>(prefix), 0, RT_SCOPE_UNIVERSE, 2};
  c.Put(&ifa, sizeof(ifa));
  c.Attr(IFA_LOCAL, &ip, 4);
  c.Attr(IFA_ADDRESS, &ip, 4);
  c.Next();
  c.Begin(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 3);
  rtmsg rt{};
  rt.rtm_family = AF_INET;
  rt.rtm_table = RT_TABLE_MAIN;
  rt.rtm_protocol = RTPROT_BOOT;
  rt.rtm_scope = RT_SCOPE_UNIVERSE;
  rt.rtm_type = RTN_UNICAST;
  c.Put(&rt, sizeof(rt));
  c.Attr(RTA_GATEWAY, &gw, 4);
  c.U32(RTA_OIF, 2);
  c.Next();
  Send(ctr, c);

  ReadAcks(host, 1, "create veth");
  ReadAcks(nft, 1, "nft element");
  ReadAcks(ctr, 4, "container links/address/route");
  return 0;
}

int Del(char** argv) {
  const char* host_if = argv[0];
  uint16_t port = static_cast<uint16_t>(std::atoi(argv[1]));
  int host = Socket(NETLINK_ROUTE);
  int nft = Socket(NETLINK_NETFILTER);
  alignas(nlmsghdr) char buf[2048];
  Msg link(buf, sizeof(buf));
  link.Begin(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, 1);
  ifinfomsg ifi{};
  link.Put(&ifi, sizeof(ifi));
  link.Str(IFLA_IFNAME, host_if);
  link.Next();
  Send(host, link);
  Msg fw(buf, sizeof(buf));
  NftElement(fw, false, port, in_addr{});
  Send(nft, fw);
  ReadAcks(host, 1, "delete veth");
  ReadAcks(nft, 1, "nft element");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 9 && std::strcmp(argv[1], "add") == 0) return Add(argv + 2);
  if (argc == 4 && std::strcmp(argv[1], "del") == 0) return Del(argv + 2);
  std::fprintf(stderr,
               "usage: kernel_floor add NETNS HOST_IF HOST_IFINDEX BRIDGE IP/PREFIX GW PORT\n"
               "       kernel_floor del HOST_IF PORT\n");
  return 2;
}
