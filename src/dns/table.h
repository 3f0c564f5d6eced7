// The DNS records berthd serves, as one immutable snapshot (aardvark-dns's DNSBackend), and the
// pure function that answers one query from it.
//
// Every lookup is scoped by the requester: a container sees the names of the networks it is
// attached to (known from its source address), the host sees the network whose gateway it
// asked, anyone else is refused. A reload builds a new Table and publishes it; readers keep the
// snapshot they loaded (std::shared_ptr<const Table>), so a query is never answered from a
// half-updated table and a reload never blocks a query.
//
// Thread-safety: a built Table is immutable and may be read from any number of threads.
// Lookups do not allocate.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip.h"
#include "dns/wire.h"

namespace berth::dns {

/// TTL of the records we own: zero, so a removed container stops resolving at once even for
/// clients that cache (the name may be gone 100 ms later).
inline constexpr uint32_t kRecordTtl = 0;

/// What a table is built from: plain data (the engine fills it from the store).
struct TableSpec {
  struct Network {
    std::string name;
    std::vector<IpAddr> gateways;  // where berthd listens for this network
    std::vector<Cidr> subnets;     // reverse lookups inside these never leave berthd
    /// --internal: no way out, so nothing is forwarded for containers that are only on
    /// internal networks (DNS would otherwise be a way out).
    bool internal = false;
  };
  struct Endpoint {
    uint32_t network = 0;  // index into networks
    IpAddr ip;
    /// The container name first (the PTR target), then aliases and the hostname.
    std::vector<std::string> names;
    /// Who owns it (the container id): a container asking from any of its addresses sees the
    /// names of all its networks (aardvark-dns does the same). Empty: the first name.
    std::string owner;
  };
  /// A service: its name resolves to the VIP (A/AAAA, and PTR back), and each port answers SRV
  /// as `_PORT._PROTO.NAME` and, for a port with a well-known name, `_PORTNAME._PROTO.NAME`
  /// (Kubernetes' form): target NAME, the VIP in the additional section.
  struct Service {
    uint32_t network = 0;
    std::string name;
    IpAddr vip;
    struct Port {
      uint16_t port = 0;
      bool udp = false;
    };
    std::vector<Port> ports;
  };
  std::vector<Network> networks;
  std::vector<Endpoint> endpoints;
  std::vector<Service> services;
};

/// string_view key -> uint32 value, open addressing; built once, then read-only.
class FlatIndex {
 public:
  void Build(const std::vector<std::pair<std::string, uint32_t>>& items);
  const uint32_t* Find(std::string_view key) const;
  size_t size() const { return count_; }

 private:
  struct Slot {
    size_t hash = 0;
    uint32_t key_off = 0, key_len = 0, value = 0;
    bool used = false;
  };
  std::vector<Slot> slots_;
  std::string keys_;
  size_t mask_ = 0;
  size_t count_ = 0;
};

class Table {
 public:
  static std::shared_ptr<const Table> Build(const TableSpec& spec);
  static std::shared_ptr<const Table> Empty() { return Build({}); }

  struct Addr {
    uint32_t network;
    IpAddr ip;
  };
  struct Ptr {
    uint32_t network;
    uint32_t name;  // index into names_
  };
  struct Srv {
    uint32_t network;
    uint16_t port;
    uint32_t target;  // index into names_: the service's name
    IpAddr vip;
  };

  /// Networks (sorted indexes) of the container at `source`; empty when it is none of ours.
  std::span<const uint32_t> RequesterNetworks(const IpAddr& source) const;
  /// The network whose gateway is `local`, or -1.
  int64_t GatewayNetwork(const IpAddr& local) const;
  /// Every address of `name` (lowercase dotted), sorted by network.
  std::span<const Addr> Lookup(std::string_view name) const;
  std::span<const Ptr> Reverse(const IpAddr& ip) const;
  /// The SRV records of `name` ("_80._tcp.web", "_http._tcp.web"), sorted by network.
  std::span<const Srv> LookupSrv(std::string_view name) const;
  const std::string& Name(uint32_t i) const { return names_[i]; }
  /// True when one of `networks` may reach the outside world (is not --internal).
  bool AnyExternal(std::span<const uint32_t> networks) const;
  /// True when `ip` lies in the subnet of one of `networks`.
  bool InSubnetOf(const IpAddr& ip, std::span<const uint32_t> networks) const;

  const std::vector<TableSpec::Network>& networks() const { return networks_; }
  size_t record_count() const { return addrs_.size(); }
  /// Every listening address (all gateways), deduplicated.
  std::vector<IpAddr> ListenAddresses() const;

 private:
  std::vector<TableSpec::Network> networks_;
  std::vector<Addr> addrs_;
  std::vector<Ptr> ptrs_;
  std::vector<Srv> srvs_;
  std::vector<uint32_t> requester_nets_;
  std::vector<std::string> names_;
  // Values are indexes into ranges_ (begin, end) of the arrays above; gateways_ holds networks.
  std::vector<std::pair<uint32_t, uint32_t>> ranges_;
  FlatIndex by_name_, by_requester_, by_ptr_, by_srv_, gateways_;
};

/// Who sent a query, as the server saw it.
struct Requester {
  IpAddr source;
  IpAddr local;            // the address the query was sent to (a gateway)
  bool from_host = false;  // `source` is one of the host's own addresses: the host asked
};

enum class Verdict {
  kAnswer,   // the response is in the writer
  kForward,  // not ours: ask the upstream resolvers
  kDrop,     // send nothing
};

/// Answers one parsed query (`parsed` is what ParseQuery returned) for `who` into `w`, whose
/// limit the caller chose (UDP: q.UdpLimit(); TCP: 64 KiB). `rotation` picks the first address
/// of a multi-address answer (round-robin).
Verdict Respond(const Table& table, const Query& q, ParseResult parsed, const Requester& who,
                uint32_t rotation, ResponseWriter& w);

}  // namespace berth::dns
