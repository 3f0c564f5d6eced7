// `berth topo`: the host's container network as one picture. Bridges with their addresses, and
// for each container its netns inode and interfaces, each paired with the host end of its veth
// as the kernel reports it (IFLA_LINK on both sides: `eth0@if7` <-> `veth1a2b@if2`), with
// addresses, MACs and published ports. Reads only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/model.h"
#include "engine/engine.h"

namespace berth::diagnose {

struct TopoInterface {
  std::string network;
  std::string ifname;      // inside the container (eth0)
  int ifindex = 0;         // 0: not found in the kernel
  int peer_ifindex = 0;    // eth0's IFLA_LINK: the host end's index
  std::string host_veth;
  int host_ifindex = 0;
  int host_peer_ifindex = 0;  // the host end's IFLA_LINK: eth0's index
  std::string bridge;      // the host end's master
  std::string ip;          // address/prefix
  std::string mac;         // the kernel's, else the store's
  std::vector<PortMapping> ports;
};

struct TopoContainer {
  std::string name, id, state, netns;
  std::optional<uint64_t> netns_inode;
  std::vector<TopoInterface> interfaces;
};

struct TopoBridge {
  std::string network, bridge, address;
  int ifindex = 0;
  bool up = false, internal = false, icc = true;
};

struct Topology {
  std::vector<TopoBridge> bridges;
  std::vector<TopoContainer> containers;
};

Result<Topology> ReadTopology(engine::Engine& engine);

std::string TopoJson(const Topology& t);
std::string TopoText(const Topology& t);
std::string TopoDot(const Topology& t);

}  // namespace berth::diagnose
