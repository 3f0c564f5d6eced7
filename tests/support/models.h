// Model values for unit tests: a network as `berth network create` would record it.
#pragma once

#include <map>
#include <string>

#include "core/ids.h"
#include "core/model.h"

namespace berth {

inline Network MakeNetwork(const std::string& name, const std::string& subnet,
                           std::map<std::string, std::string> options = {}) {
  Network n;
  n.id = NewId();
  n.name = name;
  n.bridge = BridgeName(n.id);
  n.subnet = *Cidr::ParseNetwork(subnet);
  n.gateway = n.subnet.Network().Plus(1);
  n.options = std::move(options);
  return n;
}

}  // namespace berth
