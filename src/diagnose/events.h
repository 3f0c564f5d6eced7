// What happened, for `berth events` (issue 14): network create/remove, container create/start/
// die/remove, attach/detach, port publish/unpublish, service create/remove and backends
// changed, firewall restored, cluster node joined/lost/ready/removed. berthd writes them: at
// each reload it compares the store with what it saw before (EventRecorder) and appends one JSON
// line per change to ROOT/events.jsonl (kept to about 1 MB: the older half moves to
// events.jsonl.1); the cluster's nodes are compared the same way as berthd's agent sees them.
// `berth events` reads both files. Without berthd nothing is recorded.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "store/store.h"

namespace berth::diagnose {

struct Event {
  double time = 0;     // unix seconds
  std::string type;    // network, container, endpoint, port, service, firewall, node, daemon
  std::string action;  // create, remove, start, die, attach, detach, publish, unpublish,
                       // backends, restore, join, lost, ready
  std::string name;    // the network's or container's name
  std::map<std::string, std::string> attributes;  // network, ip, port, exit_code ...
};

std::string EventsPath(const std::string& root);

/// One JSON object per line, as written to the log.
std::string ToJson(const Event& e);
std::optional<Event> ParseEvent(const std::string& line);
/// "2026-12-02T01:44:00.123Z network create app (subnet=10.1.0.0/24)".
std::string ToText(const Event& e);

/// "30s", "10m", "2h", "1d", or unix seconds ("1764639840").
Result<double> ParseSince(const std::string& text, double now);

/// The events of ROOT's log at or after `since`, oldest first.
Result<std::vector<Event>> ReadEvents(const std::string& root, double since);

/// A cluster node as berthd sees it: its record, and whether its heartbeat is alive (nullopt:
/// unknown, etcd cannot be read).
struct NodeView {
  std::string name;
  std::optional<bool> ready;
};

/// berthd's side: compares snapshots of the store and appends the differences.
class EventRecorder {
 public:
  explicit EventRecorder(std::string root) : root_(std::move(root)) {}
  /// Reads the store and records what changed since the last call; the first call only learns
  /// (and records that berthd started).
  Status Observe(store::Store& store);
  /// Records an event that is not visible in the store (a firewall restore).
  Status Record(Event e);
  /// The cluster's nodes now (every node with a record, this one included): node join, lost
  /// (ready, then not), ready (again) and remove. The first call, and the first after
  /// ForgetNodes, only learns.
  Status ObserveNodes(const std::vector<NodeView>& nodes);
  /// This host left the cluster (or berthd stopped its agent): no node was removed for that.
  void ForgetNodes() { nodes_.reset(); }

 private:
  struct Snapshot {
    std::map<std::string, Network> networks;                 // by id
    std::map<std::string, Container> containers;             // by id
    std::map<std::pair<std::string, std::string>, Endpoint> endpoints;  // (container, network)
    std::map<std::string, std::string> ports;  // "ip proto host_port" -> text, by key
    struct ServiceView {
      std::string name;
      std::set<IpAddr> backends;
    };
    std::map<std::string, ServiceView> services;  // by id
  };
  Result<Snapshot> Read(store::Store& store);
  Status Append(const std::vector<Event>& events);

  std::string root_;
  std::optional<Snapshot> last_;
  std::optional<std::map<std::string, std::optional<bool>>> nodes_;  // name -> ready
};

}  // namespace berth::diagnose
