#include "firewall/model.h"

namespace berth::firewall {

const char* NftName(Family family) {
  switch (family) {
    case Family::kInet: return "inet";
    case Family::kIp: return "ip";
    case Family::kIp6: return "ip6";
  }
  return "inet";
}

const char* NftName(DataType type) {
  switch (type) {
    case DataType::kIfname: return "ifname";
    case DataType::kIpv4Addr: return "ipv4_addr";
    case DataType::kIpv6Addr: return "ipv6_addr";
    case DataType::kInetProto: return "inet_proto";
    case DataType::kInetService: return "inet_service";
    case DataType::kVerdict: return "verdict";
  }
  return "";
}

const char* NftName(Protocol protocol) { return protocol == Protocol::kUdp ? "udp" : "tcp"; }

const char* NftName(VerdictKind kind) {
  switch (kind) {
    case VerdictKind::kAccept: return "accept";
    case VerdictKind::kDrop: return "drop";
    case VerdictKind::kJump: return "jump";
    case VerdictKind::kGoto: return "goto";
    case VerdictKind::kReturn: return "return";
  }
  return "";
}

}  // namespace berth::firewall
