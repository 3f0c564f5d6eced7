#include "dns/table.h"

#include "dns/port_names.h"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>

namespace berth::dns {

namespace {

// An address as an index key: one family byte, then 4 or 16 bytes.
struct IpKey {
  explicit IpKey(const IpAddr& ip) {
    buf[0] = ip.is_v6() ? 6 : 4;
    std::copy(ip.data(), ip.data() + ip.size(), buf + 1);
    len = 1 + ip.size();
  }
  std::string_view view() const { return {reinterpret_cast<const char*>(buf), len}; }
  uint8_t buf[17];
  size_t len;
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool Contains(std::span<const uint32_t> sorted, uint32_t v) {
  for (uint32_t x : sorted) {
    if (x == v) return true;
    if (x > v) return false;
  }
  return false;
}

}  // namespace

void FlatIndex::Build(const std::vector<std::pair<std::string, uint32_t>>& items) {
  size_t cap = 8;
  while (cap < items.size() * 2) cap <<= 1;
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  keys_.clear();
  count_ = 0;
  std::hash<std::string_view> hasher;
  for (const auto& [key, value] : items) {
    size_t h = hasher(key);
    size_t i = h & mask_;
    bool replaced = false;
    while (slots_[i].used) {
      const Slot& s = slots_[i];
      if (s.hash == h && std::string_view(keys_).substr(s.key_off, s.key_len) == key) {
        slots_[i].value = value;
        replaced = true;
        break;
      }
      i = (i + 1) & mask_;
    }
    if (replaced) continue;
    slots_[i] = Slot{h, static_cast<uint32_t>(keys_.size()), static_cast<uint32_t>(key.size()),
                     value, true};
    keys_ += key;
    ++count_;
  }
}

const uint32_t* FlatIndex::Find(std::string_view key) const {
  if (slots_.empty()) return nullptr;
  size_t h = std::hash<std::string_view>{}(key);
  for (size_t i = h & mask_;; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (!s.used) return nullptr;
    if (s.hash == h && s.key_len == key.size() &&
        std::string_view(keys_).substr(s.key_off, s.key_len) == key) {
      return &s.value;
    }
  }
}

std::shared_ptr<const Table> Table::Build(const TableSpec& in) {
  auto t = std::shared_ptr<Table>(new Table());
  t->networks_ = in.networks;
  // A service's name and VIP are one more endpoint (A/AAAA and PTR); its ports add SRV below.
  TableSpec spec_with_services;
  const TableSpec* spec_ptr = &in;
  if (!in.services.empty()) {
    spec_with_services.networks = in.networks;
    spec_with_services.endpoints = in.endpoints;
    for (const TableSpec::Service& s : in.services) {
      spec_with_services.endpoints.push_back({s.network, s.vip, {s.name}, "service:" + s.name});
    }
    spec_ptr = &spec_with_services;
  }
  const TableSpec& spec = *spec_ptr;

  std::map<std::string, std::vector<Addr>> by_name;
  std::map<std::string, std::set<uint32_t>> owner_nets;
  for (const TableSpec::Endpoint& e : spec.endpoints) {
    if (e.network >= spec.networks.size() || e.names.empty()) continue;
    owner_nets[e.owner.empty() ? e.names[0] : e.owner].insert(e.network);
  }
  std::map<IpAddr, std::set<uint32_t>> requesters;
  std::map<IpAddr, std::vector<Ptr>> reverse;
  std::map<std::string, uint32_t> name_ids;
  for (const TableSpec::Endpoint& e : spec.endpoints) {
    if (e.network >= spec.networks.size() || e.names.empty()) continue;
    const auto& nets = owner_nets[e.owner.empty() ? e.names[0] : e.owner];
    requesters[e.ip].insert(nets.begin(), nets.end());
    std::set<std::string> seen;
    for (const std::string& n : e.names) {
      std::string key = Lower(n);
      if (key.empty() || !seen.insert(key).second) continue;
      by_name[key].push_back({e.network, e.ip});
    }
    auto [it, fresh] = name_ids.emplace(e.names[0], static_cast<uint32_t>(t->names_.size()));
    if (fresh) t->names_.push_back(e.names[0]);
    reverse[e.ip].push_back({e.network, it->second});
  }

  std::vector<std::pair<std::string, uint32_t>> items;
  for (auto& [name, addrs] : by_name) {
    std::sort(addrs.begin(), addrs.end(), [](const Addr& a, const Addr& b) {
      return a.network != b.network ? a.network < b.network : a.ip < b.ip;
    });
    uint32_t begin = static_cast<uint32_t>(t->addrs_.size());
    t->addrs_.insert(t->addrs_.end(), addrs.begin(), addrs.end());
    items.emplace_back(name, static_cast<uint32_t>(t->ranges_.size()));
    t->ranges_.emplace_back(begin, static_cast<uint32_t>(t->addrs_.size()));
  }
  t->by_name_.Build(items);

  items.clear();
  for (const auto& [ip, nets] : requesters) {
    uint32_t begin = static_cast<uint32_t>(t->requester_nets_.size());
    t->requester_nets_.insert(t->requester_nets_.end(), nets.begin(), nets.end());
    items.emplace_back(std::string(IpKey(ip).view()), static_cast<uint32_t>(t->ranges_.size()));
    t->ranges_.emplace_back(begin, static_cast<uint32_t>(t->requester_nets_.size()));
  }
  t->by_requester_.Build(items);

  items.clear();
  for (auto& [ip, ptrs] : reverse) {
    std::sort(ptrs.begin(), ptrs.end(),
              [](const Ptr& a, const Ptr& b) { return a.network < b.network; });
    uint32_t begin = static_cast<uint32_t>(t->ptrs_.size());
    t->ptrs_.insert(t->ptrs_.end(), ptrs.begin(), ptrs.end());
    items.emplace_back(std::string(IpKey(ip).view()), static_cast<uint32_t>(t->ranges_.size()));
    t->ranges_.emplace_back(begin, static_cast<uint32_t>(t->ptrs_.size()));
  }
  t->by_ptr_.Build(items);

  std::map<std::string, std::vector<Srv>> srv_by_name;
  for (const TableSpec::Service& s : in.services) {
    if (s.network >= in.networks.size() || s.name.empty()) continue;
    uint32_t target = name_ids.at(s.name);
    std::string owner = Lower(s.name);
    for (const TableSpec::Service::Port& p : s.ports) {
      std::string proto = p.udp ? "._udp." : "._tcp.";
      Srv srv{s.network, p.port, target, s.vip};
      srv_by_name["_" + std::to_string(p.port) + proto + owner].push_back(srv);
      std::string_view well_known = WellKnownPortName(p.port, p.udp);
      if (!well_known.empty()) {
        srv_by_name["_" + std::string(well_known) + proto + owner].push_back(srv);
      }
    }
  }
  items.clear();
  for (auto& [name, srvs] : srv_by_name) {
    std::stable_sort(srvs.begin(), srvs.end(),
                     [](const Srv& a, const Srv& b) { return a.network < b.network; });
    uint32_t begin = static_cast<uint32_t>(t->srvs_.size());
    t->srvs_.insert(t->srvs_.end(), srvs.begin(), srvs.end());
    items.emplace_back(name, static_cast<uint32_t>(t->ranges_.size()));
    t->ranges_.emplace_back(begin, static_cast<uint32_t>(t->srvs_.size()));
  }
  t->by_srv_.Build(items);

  items.clear();
  for (uint32_t i = 0; i < spec.networks.size(); ++i) {
    for (const IpAddr& gw : spec.networks[i].gateways) {
      items.emplace_back(std::string(IpKey(gw).view()), i);
    }
  }
  t->gateways_.Build(items);
  return t;
}

std::span<const uint32_t> Table::RequesterNetworks(const IpAddr& source) const {
  const uint32_t* r = by_requester_.Find(IpKey(source).view());
  if (!r) return {};
  auto [b, e] = ranges_[*r];
  return {requester_nets_.data() + b, e - b};
}

int64_t Table::GatewayNetwork(const IpAddr& local) const {
  const uint32_t* r = gateways_.Find(IpKey(local).view());
  return r ? static_cast<int64_t>(*r) : -1;
}

std::span<const Table::Addr> Table::Lookup(std::string_view name) const {
  const uint32_t* r = by_name_.Find(name);
  if (!r) return {};
  auto [b, e] = ranges_[*r];
  return {addrs_.data() + b, e - b};
}

std::span<const Table::Ptr> Table::Reverse(const IpAddr& ip) const {
  const uint32_t* r = by_ptr_.Find(IpKey(ip).view());
  if (!r) return {};
  auto [b, e] = ranges_[*r];
  return {ptrs_.data() + b, e - b};
}

std::span<const Table::Srv> Table::LookupSrv(std::string_view name) const {
  const uint32_t* r = by_srv_.Find(name);
  if (!r) return {};
  auto [b, e] = ranges_[*r];
  return {srvs_.data() + b, e - b};
}

bool Table::AnyExternal(std::span<const uint32_t> networks) const {
  for (uint32_t n : networks) {
    if (!networks_[n].internal) return true;
  }
  return false;
}

bool Table::InSubnetOf(const IpAddr& ip, std::span<const uint32_t> networks) const {
  for (uint32_t n : networks) {
    for (const Cidr& c : networks_[n].subnets) {
      if (c.Contains(ip)) return true;
    }
  }
  return false;
}

std::vector<IpAddr> Table::ListenAddresses() const {
  std::set<IpAddr> all;
  for (const auto& n : networks_) all.insert(n.gateways.begin(), n.gateways.end());
  return {all.begin(), all.end()};
}

namespace {

// Not ours: ask upstream, unless the requester has no way out (only --internal networks).
Verdict Forward(const Table& table, const Query& q, std::span<const uint32_t> nets,
                ResponseWriter& w) {
  if (table.AnyExternal(nets)) return Verdict::kForward;
  w.Begin(q, Rcode::kRefused, false);
  return Verdict::kAnswer;
}

Verdict AnswerAddresses(const Table& table, const Query& q, std::span<const uint32_t> nets,
                        uint32_t rotation, ResponseWriter& w) {
  std::span<const Table::Addr> all = table.Lookup(q.name());
  size_t v4 = 0, v6 = 0;
  for (const Table::Addr& a : all) {
    if (!Contains(nets, a.network)) continue;
    (a.ip.is_v4() ? v4 : v6)++;
  }
  if (v4 + v6 == 0) return Forward(table, q, nets, w);  // not a name of the requester's networks
  w.Begin(q, Rcode::kNoError, true);
  auto emit = [&](bool want_v6, size_t count) {
    if (count == 0) return;
    size_t skip = rotation % count;
    // Two passes over the matching addresses: from `skip` to the end, then the ones before.
    for (int pass = 0; pass < 2; ++pass) {
      size_t k = 0;
      for (const Table::Addr& a : all) {
        if (a.ip.is_v6() != want_v6 || !Contains(nets, a.network)) continue;
        if ((pass == 0) == (k >= skip)) {
          if (want_v6) {
            w.AddAaaa(a.ip.data(), kRecordTtl);
          } else {
            w.AddA(a.ip.data(), kRecordTtl);
          }
        }
        ++k;
      }
    }
  };
  if (q.qtype == type::kA || q.qtype == type::kAny) emit(false, v4);
  if (q.qtype == type::kAaaa || q.qtype == type::kAny) emit(true, v6);
  // Any other type: the name exists, so NOERROR with no data (never NXDOMAIN, never forwarded).
  return Verdict::kAnswer;
}

// `_PORT._PROTO.NAME` / `_PORTNAME._PROTO.NAME` (RFC 2782, Kubernetes' form) for a service of
// the requester's networks. Not answered (nullopt) unless the name has that form and NAME is a
// name of theirs; a port the service does not have is NOERROR with no data, never NXDOMAIN (the
// name exists), whatever the type asked.
std::optional<Verdict> AnswerSrv(const Table& table, const Query& q,
                                 std::span<const uint32_t> nets, ResponseWriter& w) {
  std::string_view name = q.name();
  if (!name.starts_with('_')) return std::nullopt;
  size_t dot = name.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view rest = name.substr(dot + 1);
  if (!rest.starts_with("_tcp.") && !rest.starts_with("_udp.")) return std::nullopt;
  std::string_view owner = rest.substr(5);
  bool owner_ours = false;
  for (const Table::Addr& a : table.Lookup(owner)) owner_ours |= Contains(nets, a.network);
  if (!owner_ours) return std::nullopt;
  w.Begin(q, Rcode::kNoError, true);
  if (q.qtype != type::kSrv && q.qtype != type::kAny) return Verdict::kAnswer;
  std::span<const Table::Srv> srvs = table.LookupSrv(name);
  for (const Table::Srv& s : srvs) {
    if (!Contains(nets, s.network)) continue;
    // Priority 0, one weight for all: there is one target per network (the VIP balances).
    w.AddSrv(0, 100, s.port, table.Name(s.target), kRecordTtl);
  }
  for (const Table::Srv& s : srvs) {
    if (!Contains(nets, s.network)) continue;
    w.AddAdditionalAddress(table.Name(s.target), s.vip.data(), s.vip.size(), kRecordTtl);
  }
  return Verdict::kAnswer;
}

}  // namespace

Verdict Respond(const Table& table, const Query& q, ParseResult parsed, const Requester& who,
                uint32_t rotation, ResponseWriter& w) {
  switch (parsed) {
    case ParseResult::kDrop:
      return Verdict::kDrop;
    case ParseResult::kFormErr:
      w.Begin(q, Rcode::kFormErr, false);
      return Verdict::kAnswer;
    case ParseResult::kNotImp:
      w.Begin(q, Rcode::kNotImp, false, false);
      return Verdict::kAnswer;
    case ParseResult::kBadVers:
      w.Begin(q, Rcode::kBadVers, false);
      return Verdict::kAnswer;
    case ParseResult::kOk:
      break;
  }
  std::span<const uint32_t> nets = table.RequesterNetworks(who.source);
  uint32_t host_net;
  if (nets.empty() && who.from_host) {
    int64_t n = table.GatewayNetwork(who.local);
    if (n >= 0) {
      host_net = static_cast<uint32_t>(n);
      nets = {&host_net, 1};
    }
  }
  if (nets.empty()) {  // neither a container of ours nor the host: not an open resolver
    w.Begin(q, Rcode::kRefused, false);
    return Verdict::kAnswer;
  }
  if (q.qtype == 251 || q.qtype == 252) {  // IXFR, AXFR: no zone transfers
    w.Begin(q, Rcode::kRefused, false);
    return Verdict::kAnswer;
  }
  if ((q.qclass != kClassIn && q.qclass != 255) || !q.qname_plain) {
    return Forward(table, q, nets, w);
  }

  if (q.qtype == type::kPtr) {
    IpAddr ip;
    uint32_t v4;
    uint8_t v6[16];
    bool reverse = false;
    if (ParseReverseV4(q.name(), &v4)) {
      ip = IpAddr::V4(v4);
      reverse = true;
    } else if (ParseReverseV6(q.name(), v6)) {
      ip = IpAddr::FromBytes(true, v6);
      reverse = true;
    }
    if (reverse) {
      bool any = false;
      for (const Table::Ptr& p : table.Reverse(ip)) {
        if (!Contains(nets, p.network)) continue;
        if (!any) w.Begin(q, Rcode::kNoError, true);
        any = true;
        w.AddPtr(table.Name(p.name), kRecordTtl);
        break;  // one name per address: the container's
      }
      if (any) return Verdict::kAnswer;
      // An unused address of a container subnet: ours to deny, not the upstream's to know.
      if (table.InSubnetOf(ip, nets)) {
        w.Begin(q, Rcode::kNxDomain, true);
        return Verdict::kAnswer;
      }
      return Forward(table, q, nets, w);
    }
  }
  if (auto v = AnswerSrv(table, q, nets, w)) return *v;
  return AnswerAddresses(table, q, nets, rotation, w);
}

}  // namespace berth::dns
