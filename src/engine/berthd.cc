#include "engine/berthd.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <thread>

#include "core/log.h"
#include "api/client.h"
#include "api/pid_file.h"
#include "engine/berthd_launch.h"
#include "engine/dns.h"

namespace berth::engine {

namespace {

Error NotRunning(const Paths& paths, const Error& e) {
  if (e.code() != Code::kUnavailable) return e;
  if (e.sys_errno() == ENOENT || e.sys_errno() == ECONNREFUSED) {
    return Error(Code::kUnavailable, "berthd is not running (" + paths.berthd_socket() + ")",
                 e.sys_errno());
  }
  return Error(Code::kUnavailable, "berthd: " + e.message(), e.sys_errno());
}

class BerthdNotifier : public ChangeNotifier {
 public:
  explicit BerthdNotifier(Paths paths) : paths_(std::move(paths)) {}

  void Changed(const Change& change) override {
    if (!change.dns) return;  // no DNS-enabled network involved: no record or listener changes
    // Fire and forget: berthd applies it within a millisecond or two (the bound is 100 ms),
    // and a container attach does not wait for berthd to rebuild its records.
    Status st = AskBerthdToReload(paths_);
    if (st.ok()) return;
    if (st.error().code() == Code::kUnavailable) {
      // Not running (never started, or killed): start it when it has something to serve. It
      // reads everything when it starts, so nothing is lost when it does not.
      st = EnsureBerthdIfWanted(paths_);
      if (st.ok()) return;
    }
    log::Warn("DNS: " + st.error().message());
  }

 private:
  Paths paths_;
};

}  // namespace

Status AskBerthdToReload(const Paths& paths) {
  Status st = api::Send(paths.berthd_socket(), "POST", "/v1/reload");
  if (!st.ok()) return NotRunning(paths, st.error());
  return Ok();
}

Result<std::string> BerthdRequest(const Paths& paths, const std::string& method,
                                  const std::string& path, int timeout_ms) {
  auto r = api::Request(paths.berthd_socket(), method, path, {}, timeout_ms);
  if (!r.ok()) return NotRunning(paths, r.error());
  return api::BodyOf200(*r, "berthd " + path);
}

Status ReloadBerthd(const Paths& paths, int timeout_ms) {
  auto r = BerthdRequest(paths, "POST", "/v1/reload", timeout_ms);
  if (!r.ok()) return std::move(r).error();
  return Ok();
}

Result<bool> BerthdWanted(store::Store& store) {
  BERTH_ASSIGN_OR_RETURN(std::vector<Network> networks, store.ListNetworks());
  for (const Network& n : networks) {
    if (!DnsEnabled(n)) continue;
    BERTH_ASSIGN_OR_RETURN(std::vector<Endpoint> eps, store.EndpointsOfNetwork(n.id));
    if (!eps.empty()) return true;
  }
  return false;
}

BerthdProbe ProbeBerthd(const Paths& paths) {
  BerthdProbe p;
  api::PidFileState pf = api::ProbePidFile(paths.berthd_pid());
  p.pid = pf.pid;
  if (api::Answers(paths.berthd_socket())) {
    p.state = BerthdProbe::kServing;
  } else {
    p.state = pf.held ? BerthdProbe::kStarting : BerthdProbe::kGone;
  }
  return p;
}

Status EnsureBerthd(const Paths& paths, int timeout_ms) {
  if (api::Answers(paths.berthd_socket())) return Ok();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  // One that is starting holds the lock already: wait for it rather than start a second one
  // (which would lose the lock race and exit).
  if (!api::ProbePidFile(paths.berthd_pid()).held) {
    BERTH_TRY_CTX(SpawnBerthd(paths), "start berthd");
  }
  // A concurrent berth may have started one too: only one wins the pid-file lock, and both of
  // us then talk to the winner.
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (!api::Answers(paths.berthd_socket())) continue;
    // A berthd that was already starting may have read the store before our last commit.
    Status st = ReloadBerthd(paths);
    if (st.ok() || st.error().code() != Code::kUnavailable) return st;
  }
  return Error(Code::kUnavailable, "berthd (" + BerthdBinary() + ") did not come up within " +
                                       std::to_string(timeout_ms) + " ms; see " +
                                       paths.berthd_log());
}

Status EnsureBerthdIfWanted(const Paths& paths, store::Store* store, int timeout_ms) {
  if (api::Answers(paths.berthd_socket())) return Ok();
  // A cluster node: berthd runs its agent (the routes to the other nodes follow etcd).
  if (::access(paths.cluster().c_str(), F_OK) == 0) return EnsureBerthd(paths, timeout_ms);
  std::unique_ptr<store::Store> own;
  if (!store) {
    if (::access(paths.db().c_str(), F_OK) != 0) return Ok();  // no state: nothing to serve
    BERTH_ASSIGN_OR_RETURN(own, store::Store::Open(paths.db()));
    store = own.get();
  }
  BERTH_ASSIGN_OR_RETURN(bool wanted, BerthdWanted(*store));
  if (!wanted) return Ok();
  return EnsureBerthd(paths, timeout_ms);
}

std::unique_ptr<ChangeNotifier> MakeBerthdNotifier(const Paths& paths) {
  return std::make_unique<BerthdNotifier>(paths);
}

}  // namespace berth::engine
