#include "firewall/render_wire.h"

// netinet/in.h before the kernel's headers, which then skip their own copy of its definitions.
#include <netinet/in.h>
#include <linux/netfilter.h>

namespace berth::firewall {

namespace {

constexpr size_t kIfnameSize = 16;  // IFNAMSIZ
constexpr size_t kRegister = 4;     // nft registers are 32-bit; concatenation parts align to them

std::optional<std::string> EncodeValue(DataType type, const Value& v) {
  switch (type) {
    case DataType::kIfname: {
      const auto* n = std::get_if<Ifname>(&v);
      if (!n || n->name.empty() || n->name.size() >= kIfnameSize) return std::nullopt;
      std::string out = n->name;
      out.resize(kIfnameSize, '\0');
      return out;
    }
    case DataType::kIpv4Addr:
    case DataType::kIpv6Addr: {
      const auto* ip = std::get_if<IpAddr>(&v);
      if (!ip || ip->is_v6() != (type == DataType::kIpv6Addr)) return std::nullopt;
      return std::string(reinterpret_cast<const char*>(ip->data()), ip->size());
    }
    case DataType::kInetProto: {
      const auto* p = std::get_if<Protocol>(&v);
      if (!p) return std::nullopt;
      return std::string(1, static_cast<char>(*p == Protocol::kUdp ? IPPROTO_UDP : IPPROTO_TCP));
    }
    case DataType::kInetService: {
      const auto* p = std::get_if<Port>(&v);
      if (!p) return std::nullopt;
      // Network byte order.
      return std::string{static_cast<char>(p->value >> 8), static_cast<char>(p->value & 0xff)};
    }
    case DataType::kVerdict:
      return std::nullopt;  // a verdict is NFTA_DATA_VERDICT, not bytes (WireElement::verdict)
  }
  return std::nullopt;
}

}  // namespace

std::optional<WireElement> EncodeElement(const Set& set, const Element& e, bool with_data) {
  if (set.type.interval || e.key.size() != set.type.key.size()) return std::nullopt;
  bool concat = e.key.size() > 1;
  WireElement w;
  w.set = set.name;
  for (size_t i = 0; i < e.key.size(); ++i) {
    auto part = EncodeValue(set.type.key[i], e.key[i]);
    if (!part) return std::nullopt;
    if (concat) part->resize((part->size() + kRegister - 1) / kRegister * kRegister, '\0');
    w.key += *part;
  }
  if (with_data && set.type.data) {
    if (!e.data) return std::nullopt;
    if (*set.type.data == DataType::kVerdict) {
      const auto* v = std::get_if<Verdict>(&*e.data);
      if (!v) return std::nullopt;
      w.verdict = *v;
      return w;
    }
    auto data = EncodeValue(*set.type.data, *e.data);
    if (!data) return std::nullopt;
    w.data = std::move(*data);
  }
  return w;
}

uint8_t NfProto(Family family) {
  switch (family) {
    case Family::kInet: return NFPROTO_INET;
    case Family::kIp: return NFPROTO_IPV4;
    case Family::kIp6: return NFPROTO_IPV6;
  }
  return NFPROTO_INET;
}

}  // namespace berth::firewall
