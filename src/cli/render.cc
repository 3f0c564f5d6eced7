#include "cli/render.h"

#include <algorithm>
#include <iostream>

#include "cli/commands.h"

namespace berth::cli {

using nlohmann::json;

json NetworkJson(const Network& n) {
  return {
      {"id", n.id},
      {"name", n.name},
      {"driver", n.driver},
      {"default", n.is_default},
      {"subnet", n.subnet.ToString()},
      {"gateway", n.gateway.ToString()},
      {"ip_range", n.ip_range ? json(n.ip_range->ToString()) : json(nullptr)},
      {"bridge", n.bridge},
      {"mtu", n.mtu},
      {"internal", n.internal},
      {"options", n.options},
      {"created", n.created},
  };
}

json NetworkStatusJson(const engine::NetworkStatus& s) {
  json j = NetworkJson(s.network);
  json containers = json::array();
  for (const auto& [ep, name] : s.endpoints) {
    containers.push_back({
        {"name", name},
        {"id", ep.container_id},
        {"interface", ep.ifname},
        {"ip", ep.ip.ToString()},
        {"prefix_len", ep.prefix_len},
        {"mac", ep.mac},
        {"host_veth", ep.host_veth},
        {"aliases", ep.aliases},
    });
  }
  j["containers"] = std::move(containers);
  return j;
}

json PortJson(const PortMapping& p) {
  return {
      {"host_ip", p.host_ip.ToString()},
      {"host_port", p.host_port},
      {"container_port", p.container_port},
      {"count", p.count},
      {"protocol", p.protocol == Protocol::kUdp ? "udp" : "tcp"},
  };
}

json ContainerJson(const engine::ContainerStatus& s) {
  const Container& c = s.container;
  json networks = json::object();
  for (const auto& e : s.endpoints) {
    const Endpoint& ep = e.endpoint;
    networks[ep.network_name] = {
        {"network_id", ep.network_id},
        {"interface", ep.ifname},
        {"ifindex", e.ifindex ? json(*e.ifindex) : json(nullptr)},
        {"ip", ep.ip.ToString()},
        {"prefix_len", ep.prefix_len},
        {"mac", ep.mac},
        {"gateway", ep.gateway.ToString()},
        {"host_veth", ep.host_veth},
        {"host_ifindex", e.host_ifindex ? json(*e.host_ifindex) : json(nullptr)},
        {"aliases", ep.aliases},
        {"ports", [&] {
           json ports = json::array();
           for (const auto& p : ep.ports) ports.push_back(PortJson(p));
           return ports;
         }()},
    };
  }
  return {
      {"id", c.id},
      {"name", c.name},
      {"hostname", c.hostname},
      {"mode", c.mode},
      {"cni", c.is_cni()},
      {"state", ToString(c.state)},
      {"running", s.running},
      {"pid", s.running ? json(c.pid) : json(nullptr)},
      {"exit_code", s.exit_code ? json(*s.exit_code) : json(nullptr)},
      {"auto_remove", c.auto_remove},
      {"command", c.command},
      {"created", c.created},
      {"netns",
       {{"path", s.netns_path},
        {"inode", s.netns_inode ? json(*s.netns_inode) : json(nullptr)}}},
      {"networks", std::move(networks)},
  };
}

int PrintInspected(const std::vector<std::string>& names,
                   const std::function<Result<json>(const std::string&)>& inspect) {
  int rc = 0;
  json out = json::array();
  for (const std::string& name : names) {
    auto j = inspect(name);
    if (!j.ok()) {
      rc = Fail(j.error());
      continue;
    }
    out.push_back(std::move(*j));
  }
  if (names.size() == 1 && out.size() == 1) {
    std::cout << out[0].dump(2) << "\n";
  } else if (!out.empty()) {
    std::cout << out.dump(2) << "\n";
  }
  return rc;
}

std::string Table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], r[i].size());
    }
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string l;
    for (size_t i = 0; i < cells.size(); ++i) {
      l += cells[i];
      if (i + 1 < cells.size()) l += std::string(width[i] - cells[i].size() + 3, ' ');
    }
    out += l + "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
  return out;
}

}  // namespace berth::cli
