#include "dns/table.h"

#include <algorithm>
#include <functional>
#include <map>
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

std::shared_ptr<const Table> Table::Build(const TableSpec& spec) {
  auto t = std::shared_ptr<Table>(new Table());
  t->networks_ = spec.networks;

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
  return AnswerAddresses(table, q, nets, rotation, w);
}

}  // namespace berth::dns
