// DNS as the engine sees it: which networks resolve names, the records berthd serves (built
// from the store, so a restarted berthd loses nothing), and how berthd hears about changes.
//
// The seam is ChangeNotifier: the engine calls it after every committed change that berthd
// may care about. The real one talks to berthd over its unix socket (starting it on demand when
// a container joins a DNS-enabled network, as netavark starts aardvark-dns) and waits for the
// reload to be applied, so a name resolves as soon as the command that made it returns.
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

/// Tells the berthd of `paths` (starting it when endpoints join a DNS network and none runs).
std::unique_ptr<ChangeNotifier> MakeBerthdNotifier(const Paths& paths);

/// POST /v1/reload to berthd without waiting for it; kUnavailable when it is not running.
Status AskBerthdToReload(const Paths& paths);

/// POST /v1/reload to berthd and wait for it to apply; kUnavailable when it is not running.
Status ReloadBerthd(const Paths& paths, int timeout_ms = 3000);

/// One request to berthd's API; returns the response body of a 200, an error otherwise.
Result<std::string> BerthdRequest(const Paths& paths, const std::string& method,
                                  const std::string& path, int timeout_ms = 3000);

/// Starts berthd for this state root unless one answers, then waits until it does.
Status EnsureBerthd(const Paths& paths, int timeout_ms = 5000);

/// $BERTHD_BIN, else `berthd` beside the running executable, else `berthd` from $PATH.
std::string BerthdBinary();

}  // namespace berth::engine
