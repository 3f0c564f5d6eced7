// Trying a connection the way a container would: from a thread that entered the container's
// network namespace (setns acts on the calling thread only; sys/netns.h), never by running a
// tool inside it. Each call makes one short-lived thread, so the caller's namespace is never
// changed, and waits at most `timeout`.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/ip.h"
#include "core/model.h"
#include "sys/listeners.h"

namespace berth::diagnose {

/// A time budget shared by several slow steps (`why` answers within 1 s: its DNS queries, the
/// probe and the listener scans all come out of one).
class Deadline {
 public:
  explicit Deadline(std::chrono::milliseconds total)
      : end_(std::chrono::steady_clock::now() + total) {}
  std::chrono::milliseconds Left() const {
    return std::max(std::chrono::milliseconds(0),
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        end_ - std::chrono::steady_clock::now()));
  }
  /// `cap`, or less so that `reserve` is left afterwards; never below 1 ms (a probe that may not
  /// wait still learns what the kernel says at once: a refusal, no route).
  std::chrono::milliseconds Slice(std::chrono::milliseconds cap,
                                  std::chrono::milliseconds reserve) const {
    return std::clamp(Left() - reserve, std::chrono::milliseconds(1), cap);
  }

 private:
  std::chrono::steady_clock::time_point end_;
};

enum class ProbeOutcome {
  kConnected,    // TCP handshake done, a UDP answer, an ICMP echo reply
  kRefused,      // TCP RST or ICMP port unreachable: the path works, nobody listens
  kUnreachable,  // no route, or ICMP host/net unreachable (a reject rule)
  kTimeout,      // no answer at all: dropped on the way (or UDP to a silent listener)
  kError,        // the probe itself failed (detail says why)
};

struct ProbeResult {
  ProbeOutcome outcome = ProbeOutcome::kError;
  std::string detail;
};

/// Runs `fn` on a new thread inside the network namespace at `netns_path` ("": the caller's
/// own) and waits for it.
Status RunInNetns(const std::string& netns_path, const std::function<void()>& fn);

/// A non-blocking connect (TCP), a datagram (UDP), or an ICMP echo (no port) to ip[:port].
ProbeResult Probe(const std::string& netns_path, const IpAddr& ip, std::optional<uint16_t> port,
                  Protocol protocol, std::chrono::milliseconds timeout);

/// The listeners of the namespace at `netns_path` (sys::ReadListeners from inside it).
Result<std::vector<sys::Listener>> ListenersIn(const std::string& netns_path);

/// An A query for `name` to `server`:53 sent from inside `netns_path`. The addresses of the
/// answer; empty for NXDOMAIN or no data; an error when the server did not answer in time.
Result<std::vector<IpAddr>> QueryA(const std::string& netns_path, const IpAddr& server,
                                   const std::string& name, std::chrono::milliseconds timeout);

const char* ToString(ProbeOutcome o);

}  // namespace berth::diagnose
