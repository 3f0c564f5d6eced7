// DNS as the engine sees it: which networks resolve names, the records berthd serves (built
// from the store, so a restarted berthd loses nothing), and how berthd hears about changes.
//
// The seam is ChangeNotifier: the engine calls it after every committed change that berthd
// may care about. The real one (MakeBerthdNotifier, engine/berthd.h) tells berthd over its
// unix socket, starting it when it is not running and has something to serve, as netavark
// starts aardvark-dns.
#pragma once

#include <memory>
#include <string>

#include "core/error.h"
#include "core/model.h"
#include "dns/table.h"
#include "engine/paths.h"
#include "store/store.h"

namespace berth::engine {

/// User-defined networks resolve container names unless created with -o dns=false; the default
/// network never does (Docker semantics).
bool DnsEnabled(const Network& n);

/// Whether any of these endpoints is on a DNS-enabled network (their change concerns berthd).
Result<bool> OnDnsNetwork(store::Store& store, const std::vector<Endpoint>& endpoints);

/// Every DNS-enabled network and its endpoints, named by container name, aliases and hostname.
Result<dns::TableSpec> DnsRecords(store::Store& store);

/// What changed, after the commit.
struct Change {
  enum Kind { kNetworkCreated, kNetworkRemoved, kEndpointsAdded, kEndpointsRemoved };
  Kind kind;
  bool dns = false;  // a DNS-enabled network is involved
};

class ChangeNotifier {
 public:
  virtual ~ChangeNotifier() = default;
  /// Best effort: a failure is reported on stderr, never undoes the change.
  virtual void Changed(const Change& change) = 0;
};

/// Tells the berthd of `paths` (starting it when it is not running and has something to
/// serve). Defined in engine/berthd.cc, beside the rest of the berthd client.
std::unique_ptr<ChangeNotifier> MakeBerthdNotifier(const Paths& paths);

}  // namespace berth::engine
