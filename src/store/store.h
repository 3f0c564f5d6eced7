// Store: berth's local source of truth, one SQLite database per state root.
//
// Safety under concurrency comes from SQLite: every mutating engine operation runs inside one
// Write() transaction (BEGIN IMMEDIATE), so two berth processes allocating at the same moment
// are serialised and UNIQUE constraints catch anything that slips through. The schema is
// versioned with PRAGMA user_version and migrated on open.
//
// Not thread-safe: one Store per thread.
#pragma once

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
  static Result<std::unique_ptr<Store>> Open(const std::string& path);
  static constexpr int kSchemaVersion = 1;

  /// BEGIN IMMEDIATE: takes the write lock now, so reads inside see a stable state.
  Result<WriteTx> Write();

  // Networks. Find* look up by exact name, then by unique id prefix.
  Status InsertNetwork(const Network& n);
  Result<std::optional<Network>> FindNetwork(const std::string& name_or_id);
  Result<std::vector<Network>> ListNetworks();
  Status DeleteNetwork(const std::string& id);
  Result<std::optional<IpAddr>> IpCursor(const std::string& network_id);
  Status SetIpCursor(const std::string& network_id, const IpAddr& ip);

  // Containers.
  Status InsertContainer(const Container& c);
  Result<std::optional<Container>> FindContainer(const std::string& name_or_id);
  Result<std::vector<Container>> ListContainers();
  Status UpdateContainerProcess(const std::string& id, int pid, uint64_t start_time,
                                ContainerState state, int exit_code);
  Status DeleteContainer(const std::string& id);
  /// Containers in container:<owner> mode that share `owner_id`'s network namespace.
  Result<std::vector<Container>> NetnsSharers(const std::string& owner_id);

  // Endpoints.
  Status InsertEndpoint(const Endpoint& e);
  Result<std::vector<Endpoint>> EndpointsOfContainer(const std::string& container_id);
  Result<std::vector<Endpoint>> EndpointsOfNetwork(const std::string& network_id);
  Result<bool> IpInUse(const std::string& network_id, const IpAddr& ip);
  Status DeleteEndpoint(const std::string& container_id, const std::string& network_id);

 private:
  explicit Store(std::unique_ptr<Db> db) : db_(std::move(db)) {}
  Status Migrate();
  std::unique_ptr<Db> db_;
};

}  // namespace berth::store
