// berth service create | ls | inspect | rm
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/format.h"
#include "cli/render.h"
#include "cluster/local.h"
#include "cluster/services.h"
#include "etcd/client.h"

namespace berth::cli {

namespace {

const char* ProtoName(Protocol p) { return p == Protocol::kUdp ? "udp" : "tcp"; }

std::string PortText(const ServicePort& p) {
  std::string out = std::to_string(p.port);
  if (p.target_port != p.port) out += ":" + std::to_string(p.target_port);
  return out + "/" + ProtoName(p.protocol);
}

nlohmann::json ServiceJson(const engine::ServiceStatus& st) {
  const Service& s = st.service;
  nlohmann::json ports = nlohmann::json::array();
  for (const ServicePort& p : s.ports) {
    ports.push_back({{"port", p.port}, {"target_port", p.target_port},
                     {"protocol", ProtoName(p.protocol)}});
  }
  nlohmann::json backends = nlohmann::json::array();
  for (const engine::ServiceBackend& b : st.backends) {
    nlohmann::json one = {{"container", b.container}, {"ip", b.ip.ToString()},
                          {"port", b.port}, {"protocol", ProtoName(b.protocol)}};
    if (!b.node.empty()) one["node"] = b.node;
    backends.push_back(std::move(one));
  }
  nlohmann::json publish = nlohmann::json::array();
  for (const ServicePublish& p : s.publish) {
    publish.push_back({{"host_port", p.host_port}, {"port", p.port},
                       {"protocol", ProtoName(p.protocol)}});
  }
  return {{"id", s.id},
          {"publish", std::move(publish)},
          {"name", s.name},
          {"network", s.network_name},
          {"vip", s.vip.ToString()},
          {"selector", s.selector},
          {"ports", std::move(ports)},
          {"balance", s.round_robin ? "round-robin" : "random"},
          {"affinity", engine::AffinityText(s.affinity)},
          {"backends", std::move(backends)},
          {"created", s.created}};
}

Result<std::unique_ptr<engine::Engine>> OpenEngine(const Globals& g) {
  return engine::Engine::Open(g.root, CliWiring(g.root));
}

// On a cluster node, a service of the cluster network lives in etcd (cluster/services.h):
// the hook writes (or deletes) it there before the local operation commits, so etcd
// unreachable, or the name or VIP taken elsewhere in the cluster, changes nothing.
engine::ServiceHook ClusterHook(const Globals& g, bool remove) {
  auto local = cluster::ReadLocalState(g.root);
  if (!local.ok() && local.error().code() == Code::kNotFound) return {};  // not in a cluster
  if (!local.ok()) {
    // Joined, but the cluster file cannot be read: a service of the cluster network made now
    // would be this node's alone, so it is refused.
    return [e = local.error()](const Service& s) -> Result<int64_t> {
      if (s.network_name != cluster::kNetworkName) return int64_t{0};
      return e;
    };
  }
  return [options = local->etcd, remove](const Service& s) -> Result<int64_t> {
    if (s.network_name != cluster::kNetworkName) return int64_t{0};
    auto client = etcd::Client::Open(options);
    if (!client.ok()) return std::move(client).error();
    auto st = remove ? cluster::DeleteService(**client, s) : cluster::PutService(**client, s);
    if (!st.ok() && st.error().code() == Code::kUnavailable) {
      Error e = st.error();
      return std::move(e).Wrap(std::string("etcd is unreachable: service ") + s.name + " not " +
                               (remove ? "removed" : "created") + ", nothing changed");
    }
    return st;
  };
}

}  // namespace

int ServiceCreate(const Globals& g, const engine::ServiceCreateRequest& req) {
  auto engine = OpenEngine(g);
  if (!engine.ok()) return Fail(engine.error());
  auto st = (*engine)->CreateService(req, ClusterHook(g, /*remove=*/false));
  if (!st.ok()) return Fail(st.error());
  if (g.format == "json") {
    std::cout << ServiceJson(*st).dump(2) << "\n";
  } else {
    std::printf("%s\n", st->service.id.c_str());
  }
  return 0;
}

int ServiceList(const Globals& g) {
  auto engine = OpenEngine(g);
  if (!engine.ok()) return Fail(engine.error());
  auto all = (*engine)->ListServices();
  if (!all.ok()) return Fail(all.error());
  if (g.format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& st : *all) out.push_back(ServiceJson(st));
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& st : *all) {
    std::string ports;
    for (const ServicePort& p : st.service.ports) ports += (ports.empty() ? "" : ",") + PortText(p);
    size_t per_port = st.service.ports.empty() ? 1 : st.service.ports.size();
    rows.push_back({st.service.id.substr(0, 12), st.service.name, st.service.network_name,
                    st.service.vip.ToString(), ports,
                    std::to_string(st.backends.size() / per_port),
                    engine::AffinityText(st.service.affinity)});
  }
  std::cout << Table({"SERVICE ID", "NAME", "NETWORK", "VIP", "PORTS", "BACKENDS", "AFFINITY"},
                     rows);
  return 0;
}

int ServiceInspect(const Globals& g, const std::vector<std::string>& names, bool explain) {
  auto engine = OpenEngine(g);
  if (!engine.ok()) return Fail(engine.error());
  if (explain) {
    int rc = 0;
    for (const std::string& name : names) {
      auto text = (*engine)->ExplainService(name);
      if (!text.ok()) {
        rc = Fail(text.error());
        continue;
      }
      std::printf("# Service %s as nft commands (berth applies them as one transaction):\n%s",
                  name.c_str(), text->c_str());
    }
    return rc;
  }
  nlohmann::json out = nlohmann::json::array();
  int rc = 0;
  for (const std::string& name : names) {
    auto st = (*engine)->InspectService(name);
    if (!st.ok()) {
      rc = Fail(st.error());
      continue;
    }
    out.push_back(ServiceJson(*st));
  }
  std::cout << out.dump(2) << "\n";
  return rc;
}

int ServiceRemove(const Globals& g, const std::vector<std::string>& names) {
  auto engine = OpenEngine(g);
  if (!engine.ok()) return Fail(engine.error());
  int rc = 0;
  engine::ServiceHook hook = ClusterHook(g, /*remove=*/true);
  for (const std::string& name : names) {
    Status st = (*engine)->RemoveService(name, hook);
    if (!st.ok()) {
      rc = Fail(st.error());
    } else {
      std::printf("%s\n", name.c_str());
    }
  }
  return rc;
}

}  // namespace berth::cli
