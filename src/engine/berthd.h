// Talking to berthd, the engine's side of its API (api/client.h over ROOT/berthd.sock), and
// keeping it alive: berthd must run whenever it has something to serve (an endpoint on a
// DNS-enabled network), and any berth command that relies on it brings it back when it died
// (killed, crashed, the host rebooted).
//
// Liveness, cheapest first: a connect to its socket (a dead berthd's socket refuses at once);
// then its pid-file lock (api/pid_file.h): held means one is starting, not held means the pid
// file is stale (whatever pid it names, even one reused by another program) and a new berthd
// takes it over.
//
// Thread-safe: no shared state (each call opens its own connection).
#pragma once

#include <sys/types.h>

#include <string>

#include "core/error.h"
#include "engine/paths.h"
#include "store/store.h"

namespace berth::engine {

/// POST /v1/reload to berthd without waiting for it; kUnavailable when it is not running.
Status AskBerthdToReload(const Paths& paths);

/// POST /v1/reload to berthd and wait for it to apply; kUnavailable when it is not running.
Status ReloadBerthd(const Paths& paths, int timeout_ms = 3000);

/// One request to berthd's API; returns the response body of a 200, an error otherwise.
Result<std::string> BerthdRequest(const Paths& paths, const std::string& method,
                                  const std::string& path, int timeout_ms = 3000);

/// Whether berthd has anything to serve: an endpoint on a DNS-enabled network.
Result<bool> BerthdWanted(store::Store& store);

struct BerthdProbe {
  enum State {
    kServing,   // its API socket accepts connections
    kStarting,  // it holds the pid-file lock but does not answer yet
    kGone,      // nobody holds the lock: the pid file (if any) is stale
  };
  State state = kGone;
  pid_t pid = 0;  // what the pid file says
};

/// Where berthd is, without changing anything; microseconds.
BerthdProbe ProbeBerthd(const Paths& paths);

/// Makes sure a berthd serves this root: Ok at once when one answers. Otherwise starts one
/// (unless one is starting), waits until it answers and asks it to reload, so everything
/// committed before the call is served when it returns.
Status EnsureBerthd(const Paths& paths, int timeout_ms = 5000);

/// EnsureBerthd when berthd is wanted (the host is a cluster node, or BerthdWanted; the store is opened only when berthd does
/// not answer, or `store` is used when given). The check every command that relies on berthd
/// makes: one connect when berthd runs.
Status EnsureBerthdIfWanted(const Paths& paths, store::Store* store = nullptr,
                            int timeout_ms = 5000);

}  // namespace berth::engine
