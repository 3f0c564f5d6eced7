// firewalld through its D-Bus API (sd-bus from libsystemd): berth's bridges are bound at run
// time to the "trusted" zone (target ACCEPT), so firewalld's input and forward chains accept
// the bridges' traffic (DNS to the gateway, egress, container to container; published ports
// pass firewalld's "ct status dnat accept"). Run-time only: no permanent configuration is
// written and firewalld is never reloaded; a reload that drops a binding is repaired by Sync.
#pragma once

#include <string>
#include <vector>

#include "coexist/coexist.h"

namespace berth::coexist {

/// `apply` false: only look. Not present when there is no system bus or no firewalld on it.
Finding SyncFirewalld(const std::vector<std::string>& bridges, const std::vector<std::string>& gone,
                      bool apply);

}  // namespace berth::coexist
