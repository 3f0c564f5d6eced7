// The /etc files each container sees (bind-mounted in its mount namespace, seed 004): hosts
// with its own name and addresses, resolv.conf derived from the host's. Pure renderers plus
// one writer.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/ip.h"

namespace berth::engine {

/// localhost entries, then one line per address naming the container (hostname and name),
/// then the lines of `previous` (the file being replaced) berth did not write: --add-host
/// entries and the user's own survive connect, disconnect, stop and start.
std::string RenderHosts(const std::string& hostname, const std::string& name,
                        const std::vector<IpAddr>& ips, std::string_view previous = {});

/// The host's resolv.conf minus loopback nameservers (127.0.0.0/8, ::1), which mean nothing
/// inside another network namespace. `nameservers`, when given, replace the host's; `search`,
/// when given, replaces its search/domain lines. Options lines are kept.
std::string RenderResolvConf(std::string_view host_resolv,
                             const std::vector<std::string>& nameservers = {},
                             const std::vector<std::string>& search = {});

/// What a container's resolv.conf says instead of the host's (empty: keep the host's).
struct ResolvSettings {
  std::vector<std::string> nameservers;
  std::vector<std::string> search;
};

/// Rewrites `dir`/hosts (keeping what RenderHosts keeps); safe while the container runs.
Status WriteHostsFile(const std::string& dir, const std::string& hostname,
                      const std::string& name, const std::vector<IpAddr>& ips);

/// Writes hosts, resolv.conf and hostname into `dir` (created).
Status WriteContainerFiles(const std::string& dir, const std::string& hostname,
                           const std::string& name, const std::vector<IpAddr>& ips,
                           const ResolvSettings& resolv = {});

}  // namespace berth::engine
