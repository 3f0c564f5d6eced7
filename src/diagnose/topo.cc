#include "diagnose/topo.h"

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "net/links.h"

namespace berth::diagnose {

namespace {

const net::LinkInfo* ByName(const std::vector<net::LinkInfo>& links, const std::string& name) {
  for (const net::LinkInfo& l : links) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

std::string PortText(const PortMapping& p) {
  std::string host = p.host_ip.IsUnspecified() ? "" : p.host_ip.ToString() + ":";
  std::string range = p.count > 1 ? "-" + std::to_string(p.host_port + p.count - 1) : "";
  std::string crange = p.count > 1 ? "-" + std::to_string(p.container_port + p.count - 1) : "";
  return host + std::to_string(p.host_port) + range + "->" + std::to_string(p.container_port) +
         crange + (p.protocol == Protocol::kUdp ? "/udp" : "/tcp");
}

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

Result<Topology> ReadTopology(engine::Engine& engine) {
  Topology t;
  BERTH_ASSIGN_OR_RETURN(std::vector<Network> nets, engine.ListNetworks());
  BERTH_ASSIGN_OR_RETURN(std::vector<engine::ContainerStatus> cs, engine.ListContainers());
  BERTH_ASSIGN_OR_RETURN(std::vector<net::LinkInfo> host, net::ListLinks(""));
  std::map<std::string, std::string> net_names;
  for (const Network& n : nets) {
    net_names[n.id] = n.name;
    TopoBridge b;
    b.network = n.name;
    b.bridge = n.bridge;
    b.address = n.gateway.ToString() + "/" + std::to_string(n.subnet.prefix());
    b.internal = n.internal;
    b.icc = n.icc();
    if (const net::LinkInfo* l = ByName(host, n.bridge)) {
      b.ifindex = l->ifindex;
      b.up = l->up;
    }
    t.bridges.push_back(std::move(b));
  }
  for (const engine::ContainerStatus& s : cs) {
    TopoContainer c;
    c.name = s.container.name;
    c.id = s.container.id;
    c.state = s.running ? "running" : ToString(s.container.state);
    c.netns = s.netns_path;
    c.netns_inode = s.netns_inode;
    std::vector<net::LinkInfo> inner;
    if (!s.endpoints.empty() && !s.netns_path.empty()) {
      auto links = net::ListLinks(s.netns_path);
      if (links.ok()) inner = std::move(*links);
    }
    for (const engine::EndpointStatus& es : s.endpoints) {
      const Endpoint& e = es.endpoint;
      TopoInterface i;
      auto it = net_names.find(e.network_id);
      i.network = it != net_names.end() ? it->second : e.network_name;
      i.ifname = e.ifname;
      i.host_veth = e.host_veth;
      i.ip = e.ip.ToString() + "/" + std::to_string(e.prefix_len);
      i.mac = e.mac;
      i.ports = e.ports;
      if (const net::LinkInfo* l = ByName(inner, e.ifname)) {
        i.ifindex = l->ifindex;
        i.peer_ifindex = l->peer_ifindex;
        if (!l->mac.empty()) i.mac = l->mac;
      }
      if (const net::LinkInfo* l = ByName(host, e.host_veth)) {
        i.host_ifindex = l->ifindex;
        i.host_peer_ifindex = l->peer_ifindex;
        i.bridge = l->master;
      }
      c.interfaces.push_back(std::move(i));
    }
    t.containers.push_back(std::move(c));
  }
  return t;
}

std::string TopoJson(const Topology& t) {
  using nlohmann::json;
  json bridges = json::array(), containers = json::array();
  for (const TopoBridge& b : t.bridges) {
    bridges.push_back({{"network", b.network}, {"bridge", b.bridge}, {"ifindex", b.ifindex},
                       {"address", b.address}, {"up", b.up}, {"internal", b.internal},
                       {"icc", b.icc}});
  }
  for (const TopoContainer& c : t.containers) {
    json ifs = json::array();
    for (const TopoInterface& i : c.interfaces) {
      json ports = json::array();
      for (const PortMapping& p : i.ports) ports.push_back(PortText(p));
      ifs.push_back({{"network", i.network}, {"ifname", i.ifname}, {"ifindex", i.ifindex},
                     {"peer_ifindex", i.peer_ifindex}, {"host_veth", i.host_veth},
                     {"host_ifindex", i.host_ifindex}, {"host_peer_ifindex", i.host_peer_ifindex},
                     {"bridge", i.bridge}, {"ip", i.ip}, {"mac", i.mac}, {"ports", ports}});
    }
    containers.push_back({{"name", c.name}, {"id", c.id}, {"state", c.state},
                          {"netns", c.netns},
                          {"netns_inode", c.netns_inode ? json(*c.netns_inode) : json(nullptr)},
                          {"interfaces", ifs}});
  }
  return json{{"bridges", bridges}, {"containers", containers}}.dump(2);
}

std::string TopoText(const Topology& t) {
  std::ostringstream out;
  for (const TopoBridge& b : t.bridges) {
    out << b.bridge << " (network " << b.network << ") " << b.address
        << (b.ifindex ? " ifindex " + std::to_string(b.ifindex) : " (no bridge yet)")
        << (b.up || !b.ifindex ? "" : " DOWN") << (b.internal ? " internal" : "") << (b.icc ? "" : " icc=false")
        << "\n";
    std::vector<std::pair<const TopoContainer*, const TopoInterface*>> ports;
    for (const TopoContainer& c : t.containers) {
      for (const TopoInterface& i : c.interfaces) {
        if (i.network == b.network) ports.emplace_back(&c, &i);
      }
    }
    for (size_t k = 0; k < ports.size(); ++k) {
      const auto& [c, i] = ports[k];
      bool last = k + 1 == ports.size();
      out << (last ? "└─ " : "├─ ") << i->host_veth << "@if" << i->host_peer_ifindex
          << " (ifindex " << i->host_ifindex << ") <-> " << c->name << " " << i->ifname << "@if"
          << i->peer_ifindex << " (ifindex " << i->ifindex << ")\n";
      std::string pad = last ? "     " : "│    ";
      out << pad << i->ip << "  " << i->mac << "  netns "
          << (c->netns_inode ? std::to_string(*c->netns_inode) : std::string("?"));
      if (!i->ports.empty()) {
        out << "  ports";
        for (const PortMapping& p : i->ports) out << " " << PortText(p);
      }
      out << "\n";
    }
  }
  std::vector<std::string> alone;
  for (const TopoContainer& c : t.containers) {
    if (c.interfaces.empty()) alone.push_back(c.name + " (" + c.state + ")");
  }
  if (!alone.empty()) {
    out << "without interfaces:";
    for (const std::string& a : alone) out << " " << a;
    out << "\n";
  }
  return out.str();
}

std::string TopoDot(const Topology& t) {
  std::ostringstream out;
  out << "graph berth {\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n";
  for (const TopoBridge& b : t.bridges) {
    out << "  " << Quote("br:" + b.bridge) << " [shape=box, label="
        << Quote(b.bridge + "\\n" + b.network + "\\n" + b.address) << "];\n";
  }
  for (const TopoContainer& c : t.containers) {
    std::string label = c.name + "\\nnetns " +
                        (c.netns_inode ? std::to_string(*c.netns_inode) : std::string("?"));
    out << "  " << Quote("c:" + c.name) << " [shape=ellipse, label=" << Quote(label) << "];\n";
    for (const TopoInterface& i : c.interfaces) {
      std::string ports;
      for (const PortMapping& p : i.ports) ports += "\\n" + PortText(p);
      std::string edge = i.ifname + "@if" + std::to_string(i.peer_ifindex) + " " + i.ip + "\\n" +
                         i.host_veth + "@if" + std::to_string(i.host_peer_ifindex) + ports;
      std::string bridge = i.bridge.empty() ? i.network : i.bridge;
      out << "  " << Quote("c:" + c.name) << " -- " << Quote("br:" + bridge)
          << " [label=" << Quote(edge) << "];\n";
    }
  }
  out << "}\n";
  return out.str();
}

}  // namespace berth::diagnose
