// Store: berth's local source of truth, one SQLite database per state root.
//
// Safety under concurrency comes from SQLite: every mutating engine operation runs inside one
// Write() transaction (BEGIN IMMEDIATE), so two berth processes allocating at the same moment
// are serialised and UNIQUE constraints catch anything that slips through. The schema is
// versioned with PRAGMA user_version and migrated on open.
//
// Not thread-safe: one Store per thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/model.h"
#include "store/sqlite.h"

namespace berth::store {

class Store;

/// An open write transaction; rolls back on destruction unless committed.
class WriteTx {
 public:
  WriteTx(WriteTx&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
  WriteTx& operator=(WriteTx&&) = delete;
  ~WriteTx();
  Status Commit();

 private:
  friend class Store;
  explicit WriteTx(Db* db) : db_(db) {}
  Db* db_;
};

class Store {
 public:
  /// Opens (creating and migrating as needed) the database at `path`; ":memory:" for tests.
  /// A damaged database, or a missing one while the state root's objects exist, is an error
  /// at once ("state store damaged: ..."; store/integrity.h), never a wait or a fresh start.
  static Result<std::unique_ptr<Store>> Open(const std::string& path);
  static constexpr int kSchemaVersion = 6;  // the entries of kMigrations (schema.h)

  /// `system reconcile --rebuild-state`: sets a damaged or lost database aside (its files renamed
  /// "<name>.damaged-<time>", kept for inspection) and creates an empty one in its place, even
  /// though berth's objects exist: reconcile then takes back whatever no record explains.
  /// Returns the path the old database was moved to ("" when there was none).
  static Result<std::string> StartOver(const std::string& path);

  /// BEGIN IMMEDIATE: takes the write lock now, so reads inside see a stable state.
  Result<WriteTx> Write();

  // Networks. Find* look up by exact name, then by unique id prefix.
  Status InsertNetwork(const Network& n);
  /// A new address plan (the default network, from config.json); forgets the allocation cursor.
  Status UpdateNetworkAddressing(const std::string& id, const Cidr& subnet, const IpAddr& gateway,
                                 int mtu);
  Result<std::optional<Network>> FindNetwork(const std::string& name_or_id);
  /// By exact name only (CNI names networks; a short name must never match an id prefix).
  Result<std::optional<Network>> GetNetworkByName(const std::string& name);
  Result<std::vector<Network>> ListNetworks();
  Status DeleteNetwork(const std::string& id);
  Result<std::optional<IpAddr>> IpCursor(const std::string& network_id);
  /// nullopt: no address handed out yet (allocation starts at the beginning of the range).
  Status SetIpCursor(const std::string& network_id, const std::optional<IpAddr>& ip);

  // Containers.
  Status InsertContainer(const Container& c);
  Result<std::optional<Container>> FindContainer(const std::string& name_or_id);
  /// By exact id only (ids chosen by a runtime, e.g. CNI, must never match a prefix or a name).
  Result<std::optional<Container>> GetContainer(const std::string& id);
  Result<std::optional<Container>> GetContainerByName(const std::string& name);
  Result<std::vector<Container>> ListContainers();
  Status UpdateContainerProcess(const std::string& id, int pid, uint64_t start_time,
                                ContainerState state, int exit_code);
  /// created -> running with the process's identity. A no-op unless the container is still
  /// "created": an exit recorded first (a command that ends at once) must not be overwritten.
  /// Returns whether it did.
  Result<bool> MarkRunning(const std::string& id, int pid, uint64_t start_time);
  /// -> exited with `exit_code`; the pid and start time stay as they were.
  Status MarkExited(const std::string& id, int exit_code);
  Status DeleteContainer(const std::string& id);
  /// Containers in container:<owner> mode that share `owner_id`'s network namespace.
  Result<std::vector<Container>> NetnsSharers(const std::string& owner_id);

  // Endpoints.
  Status InsertEndpoint(const Endpoint& e);
  Result<std::vector<Endpoint>> EndpointsOfContainer(const std::string& container_id);
  Result<std::vector<Endpoint>> EndpointsOfNetwork(const std::string& network_id);
  Result<bool> IpInUse(const std::string& network_id, const IpAddr& ip);
  Status DeleteEndpoint(const std::string& container_id, const std::string& network_id);
  /// The endpoint's address was asked for (--ip): a stopped container keeps it.
  Status MarkStaticIp(const std::string& container_id, const std::string& network_id);
  Result<bool> HasStaticIp(const std::string& container_id, const std::string& network_id);

  // Released endpoints: what a stopped container attaches again on start (JSON specs).
  Status InsertReleased(const std::string& container_id, const std::string& network_id,
                        const std::string& spec);
  /// (network_id, spec) pairs.
  Result<std::vector<std::pair<std::string, std::string>>> ReleasedOf(
      const std::string& container_id);
  Status DeleteReleased(const std::string& container_id, const std::string& network_id);

  // Published ports, stored per endpoint.
  Status InsertPort(const std::string& container_id, const std::string& network_id,
                    const PortMapping& p);
  Result<std::vector<PortMapping>> PortsOf(const std::string& container_id,
                                           const std::string& network_id);
  Status DeletePortsOf(const std::string& container_id, const std::string& network_id);
  /// Every published port with the address of the container it leads to.
  Result<std::vector<std::pair<PortMapping, IpAddr>>> AllPorts();
  /// A published mapping of `protocol` on exactly `host_ip` overlapping [lo, hi], with the id
  /// of the container holding it. Mappings on one address never overlap each other, so the
  /// one starting closest below `hi` is the only candidate: one index seek.
  Result<std::optional<std::pair<PortMapping, std::string>>> PortOverlap(
      Protocol protocol, const IpAddr& host_ip, uint16_t lo, uint16_t hi);
  /// The host addresses that have mappings of `protocol`.
  Result<std::vector<IpAddr>> PortHostIps(Protocol protocol);

  // Container labels (run --label), what service selectors match.
  Status SetLabels(const std::string& container_id,
                   const std::map<std::string, std::string>& labels);
  Result<std::map<std::string, std::string>> LabelsOf(const std::string& container_id);
  Status DeleteLabels(const std::string& container_id);

  // Services. FindService looks up by exact name, then by unique id prefix.
  Status InsertService(const Service& s);
  Result<std::optional<Service>> FindService(const std::string& name_or_id);
  Result<std::vector<Service>> ListServices();
  Result<std::vector<Service>> ServicesOfNetwork(const std::string& network_id);
  Status DeleteService(const std::string& id);
  // What `service create` checks, without reading every service: the one holding `vip`,
  // every VIP in use, and the services with --publish.
  Result<std::optional<Service>> ServiceWithVip(const IpAddr& vip);
  Result<std::vector<IpAddr>> ServiceVips();
  Result<std::vector<Service>> PublishingServices();

  // Remote endpoints (cluster): other nodes' containers on this node's cluster network.
  Result<std::vector<RemoteEndpoint>> RemoteEndpointsOfNetwork(const std::string& network_id);
  /// Makes the network's remote endpoints exactly `endpoints`; returns whether any changed.
  Result<bool> ReplaceRemoteEndpoints(const std::string& network_id,
                                      const std::vector<RemoteEndpoint>& endpoints);

  // Small facts (cursors), as text.
  Result<std::optional<std::string>> GetMeta(const std::string& key);
  Status SetMeta(const std::string& key, const std::string& value);

 private:
  explicit Store(std::unique_ptr<Db> db) : db_(std::move(db)) {}
  static Result<std::unique_ptr<Store>> OpenFile(const std::string& path);
  /// Creates the database at `path` atomically (a complete file or none).
  static Status Create(const std::string& path);
  Status Migrate();
  Status EnableWal();
  std::unique_ptr<Db> db_;
};

}  // namespace berth::store
