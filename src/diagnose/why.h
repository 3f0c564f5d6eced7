// `berth why SRC DST[:PORT][/udp]`: tries the connection from SRC's network namespace, then
// explains the outcome from berth's model (networks, endpoints, published ports, icc and
// internal flags, the admins' user chain) and from the kernel (who listens inside DST's
// namespace). Reads only: it never changes the store, the kernel or the firewall.
//
// The causes are a contract (issue 14): the first that applies, in the order of kCauses.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/model.h"
#include "engine/engine.h"

namespace berth::diagnose {

/// In the order of the table of issue 14. A service with no backend, or without the port asked
/// for, is answered before the backend's listeners and the user chain are looked at: the packet
/// never gets that far.
inline constexpr const char* kCauses[] = {
    "ok",
    "loopback",
    "container-stopped",
    "name-not-resolvable",
    "no-shared-network",
    "internal-network",
    "icc-disabled",
    "not-published",
    "listening-on-loopback",
    "no-listener",
    "user-rule",
    "service-no-backends",
    "unknown",
};

struct WhyRequest {
  std::string src;  // a container, "host", or a network namespace file ("/run/netns/lan")
  std::string dst;  // a container name or alias, a service, an IP, localhost, or a name SRC
                    // resolves
  std::optional<uint16_t> port;  // none: an ICMP echo
  Protocol protocol = Protocol::kTcp;
};

/// SRC and "DST[:PORT][/udp|/tcp]" ("[::1]:80" for an IPv6 address with a port).
Result<WhyRequest> ParseWhy(const std::string& src, const std::string& target);

struct WhyAnswer {
  bool reachable = false;
  std::string cause;
  std::string explanation;  // one or two sentences
  std::string fix;          // a command where one exists; empty when none
  std::string probe;        // what the probe saw ("connected", "refused", "timeout" ...)
};

/// Answers within 1 s (issue 14), whatever the cause: the DNS queries, the probe and the
/// listener scans share one deadline, and a scan cut short says so in the explanation.
Result<WhyAnswer> Why(engine::Engine& engine, const WhyRequest& req);

/// Where a probe of `req` goes, as `why` works it out (for `berth trace`): SRC's namespace
/// ("" the host's), DST's address and port as SRC connects to them. An error when `why` would
/// answer without a probe (a stopped container, a name SRC cannot resolve...), with its words.
struct ProbePlan {
  std::string src_netns;
  std::optional<IpAddr> src_ip;  // SRC's address towards DST, when SRC is a container
  IpAddr ip;
  std::optional<uint16_t> port;
  Protocol protocol = Protocol::kTcp;
  std::string service;  // DST is this service's VIP
};
Result<ProbePlan> PlanProbe(engine::Engine& engine, const WhyRequest& req);

}  // namespace berth::diagnose
