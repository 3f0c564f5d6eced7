// berth network create | ls | inspect | rm | prune | explain
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/docker_view.h"
#include "cli/format.h"
#include "cli/render.h"
#include "engine/wiring.h"

namespace berth::cli {

namespace {

Result<std::unique_ptr<engine::Engine>> OpenEngine(const Globals& g) {
  return engine::Engine::Open(g.root, CliWiring(g.root));
}

// `host` and `none` are network modes, not networks berth makes: Docker lists them and
// refuses to connect or disconnect them.
bool IsModeNetwork(const std::string& name) { return name == "host" || name == "none"; }

Error ModeNetworkError(const std::string& name) {
  return Error::Invalid("container cannot be disconnected from " + name + " network or " +
                        "connected to " + name + " network");
}

}  // namespace

int Fail(const Error& e, int exit_code) {
  std::fprintf(stderr, "berth: error: %s\n", e.message().c_str());
  return exit_code;
}

int NetworkCreate(const Globals& g, engine::NetworkCreateRequest req,
                  const std::optional<std::string>& mtu) {
  if (mtu) {
    // Bad input exits 125 as `run` does (Docker's code for its own failures), not CLI11's 104.
    int v = 0;
    auto [end, ec] = std::from_chars(mtu->data(), mtu->data() + mtu->size(), v);
    if (mtu->empty() || ec != std::errc() || end != mtu->data() + mtu->size()) {
      return Fail(Error::Invalid("invalid --mtu \"" + *mtu + "\": expected a number (68-65535)"),
                  125);
    }
    req.mtu = v;
  }
  auto engine = OpenEngine(g);
  if (!engine.ok()) return Fail(engine.error());
  auto net = (*engine)->CreateNetwork(req);
  if (!net.ok()) return Fail(net.error());
  std::printf("%s\n", net->id.c_str());
  return 0;
}

int NetworkList(const Globals& g) {
  auto engine = OpenEngine(g);
  if (!engine.ok()) return Fail(engine.error());
  auto nets = (*engine)->ListNetworks();
  if (!nets.ok()) return Fail(nets.error());
  if (g.format == "json" || IsTemplate(g.format)) {
    nlohmann::json out = nlohmann::json::array();
    for (const Network& n : *nets) out.push_back(NetworkJson(n));
    if (IsTemplate(g.format)) return PrintListFormat(g.format, kNetworkLsView, out);
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const Network& n : *nets) {
    rows.push_back({n.id.substr(0, 12), n.name, n.driver, n.subnet.ToString(),
                    n.gateway.ToString(), n.bridge, n.internal ? "internal" : ""});
  }
  // The two modes Docker lists as networks (`--network host|none`); they hold no state.
  rows.push_back({"host", "host", "host", "-", "-", "-", ""});
  rows.push_back({"none", "none", "null", "-", "-", "-", ""});
  std::cout << Table({"NETWORK ID", "NAME", "DRIVER", "SUBNET", "GATEWAY", "BRIDGE", ""}, rows);
  return 0;
}

int NetworkInspect(const Globals& g, const std::vector<std::string>& names) {
  auto engine = OpenEngine(g);
  if (!engine.ok()) return Fail(engine.error());
  return PrintInspectedFormat(g.format, DockerNetworkView, names,
                              [&](const std::string& name) -> Result<nlohmann::json> {
    BERTH_ASSIGN_OR_RETURN(auto s, (*engine)->InspectNetwork(name));
    return NetworkStatusJson(s);
  });
}

int NetworkRemove(const Globals& g, const std::vector<std::string>& names) {
  auto engine = OpenEngine(g);
  if (!engine.ok()) return Fail(engine.error());
  int rc = 0;
  for (const std::string& name : names) {
    Status st = (*engine)->RemoveNetwork(name);
    if (!st.ok()) {
      rc = Fail(st.error());
    } else {
      std::printf("%s\n", name.c_str());
    }
  }
  return rc;
}

int NetworkPrune(const Globals& g) {
  auto engine = OpenEngine(g);
  if (!engine.ok()) return Fail(engine.error());
  auto removed = (*engine)->PruneNetworks();
  if (!removed.ok()) return Fail(removed.error());
  if (!removed->empty()) std::printf("Deleted networks:\n");
  for (const std::string& n : *removed) std::printf("%s\n", n.c_str());
  return 0;
}

int NetworkExplain(const Globals& g, const std::string& name) {
  auto engine = OpenEngine(g);
  if (!engine.ok()) return Fail(engine.error());
  auto text = (*engine)->ExplainAttach(name);
  if (!text.ok()) return Fail(text.error());
  std::printf("# What `berth run --network %s` does, as ip(8) commands:\n%s", name.c_str(),
              text->c_str());
  if (name == "cluster" && ::access((g.root + "/cluster.json").c_str(), F_OK) == 0) {
    auto peers = ExplainCluster(g);
    if (!peers.ok()) return Fail(peers.error());
    std::printf("%s", peers->c_str());
  }
  // The network's services, as the nft commands that make them (service inspect --explain).
  auto net = (*engine)->InspectNetwork(name);
  auto services = (*engine)->ListServices();
  if (!net.ok() || !services.ok()) return 0;
  for (const auto& s : *services) {
    if (s.service.network_id != net->network.id) continue;
    auto nft = (*engine)->ExplainService(s.service.id);
    if (!nft.ok()) continue;
    std::printf("# Service %s (%s), as nft commands:\n%s", s.service.name.c_str(),
                s.service.vip.ToString().c_str(), nft->c_str());
  }
  return 0;
}

int NetworkConnect(const Globals& g, const std::string& network, const std::string& container,
                   const std::optional<std::string>& ip, const std::vector<std::string>& aliases) {
  if (IsModeNetwork(network)) return Fail(ModeNetworkError(network));
  auto engine = OpenEngine(g);
  if (!engine.ok()) return Fail(engine.error());
  auto ep = (*engine)->Connect(container, network, ip, aliases);
  if (!ep.ok()) return Fail(ep.error());
  return 0;
}

int NetworkDisconnect(const Globals& g, const std::string& network, const std::string& container) {
  if (IsModeNetwork(network)) return Fail(ModeNetworkError(network));
  auto engine = OpenEngine(g);
  if (!engine.ok()) return Fail(engine.error());
  Status st = (*engine)->Disconnect(container, network);
  if (!st.ok()) return Fail(st.error());
  return 0;
}

}  // namespace berth::cli
