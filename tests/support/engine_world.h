// EngineWorld: an Engine on a throwaway state root, wired to one FakeKernel (links, addresses,
// routes, nftables elements) and a commit that can be made to fail, plus a Snapshot of
// everything an operation may change: the store's rows, the files under the root and the fake
// kernel. Snapshots name objects by what the test called them (network and container names),
// not by their random ids, so two worlds built the same way compare equal.
//
// Containers berth runs get real network namespaces (bind mounts under the root): tests that
// make them need root, and run inside tests/sandbox.sh.
#pragma once

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "sys/netns.h"
#include "sys/proc.h"
#include "tests/fakes/fake_kernel.h"

namespace berth::engine {

struct Snapshot {
  std::vector<std::string> store, files, kernel;
  bool operator==(const Snapshot&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const Snapshot& s) {
  auto list = [&](const char* what, const std::vector<std::string>& v) {
    os << what << ":\n";
    for (const std::string& l : v) os << "  " << l << "\n";
  };
  list("store", s.store);
  list("files", s.files);
  list("kernel", s.kernel);
  return os;
}

class EngineWorld {
 public:
  EngineWorld() {
    char tmpl[] = "/tmp/berth-engine-world.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) std::abort();
    dir_ = tmpl;
    cni_netns_ = dir_ + "/cni-netns";  // a runtime's namespace: the engine only opens it
    std::ofstream(cni_netns_) << "";
    Wiring w;  // no notifier: a unit test never starts a berthd
    w.links = [this](int fd) { return kernel.Ops(fd); };
    w.firewall = [this]() -> Result<std::unique_ptr<firewall::Firewall>> {
      return kernel.Firewall();
    };
    w.before_commit = [this]() -> Status {
      if (commits++ == fail_commit_at) return Error::System("injected failure at commit", EIO);
      return Ok();
    };
    auto e = Engine::Open(root(), std::move(w));
    if (!e.ok()) std::abort();
    engine_ = std::move(*e);
  }
  ~EngineWorld() {
    engine_.reset();
    // Namespaces a failed test left mounted; then berth's shared mount of their directory.
    std::error_code ec;
    for (const auto& f : std::filesystem::directory_iterator(paths().netns_dir(), ec)) {
      (void)sys::RemoveNetns(f.path());
    }
    (void)sys::ReleaseSharedMountDir(paths().netns_dir());
    ::umount2(paths().netns_dir().c_str(), MNT_DETACH);
    std::filesystem::remove_all(dir_, ec);
  }
  EngineWorld(const EngineWorld&) = delete;
  EngineWorld& operator=(const EngineWorld&) = delete;

  Engine& engine() { return *engine_; }
  std::string root() const { return dir_ + "/root"; }
  Paths paths() const { return Paths{root()}; }
  const std::string& cni_netns() const { return cni_netns_; }

  /// Marks a container as running as this test process (container:NAME needs a live owner).
  void PretendRunning(const std::string& name) {
    auto c = engine_->store().FindContainer(name);
    if (!c.ok() || !*c) std::abort();
    (void)engine_->RecordProcess((*c)->id, ::getpid(), *sys::ProcessStartTime(::getpid()));
  }

  Snapshot Snap() {
    std::map<std::string, std::string> names;  // id or kernel name -> what the test calls it
    std::set<std::string> live;                // fake-kernel namespaces that still exist
    Snapshot s;
    store::Store& st = engine_->store();
    // Held in locals: a range-for over *Result() would walk a destroyed temporary.
    const std::vector<Network> networks = *st.ListNetworks();
    const std::vector<Container> containers = *st.ListContainers();
    const auto ports = *st.AllPorts();
    for (const Network& n : networks) {
      names[n.id] = "<net " + n.name + ">";
      names[n.bridge] = "<bridge " + n.name + ">";
    }
    auto namespace_of = [&](const std::string& path, const std::string& as) {
      struct stat sb {};
      if (path.empty() || ::stat(path.c_str(), &sb) != 0) return;
      names["ns" + std::to_string(sb.st_ino)] = "<ns " + as + ">";
      live.insert("ns" + std::to_string(sb.st_ino));
    };
    namespace_of(cni_netns_, "cni");
    for (const Container& c : containers) {
      names[c.id] = "<ctr " + c.name + ">";
      if (c.netns_owner_id == c.id) namespace_of(c.netns_path, c.name);
      const std::vector<Endpoint> eps = *st.EndpointsOfContainer(c.id);
      for (const Endpoint& e : eps) {
        names[e.host_veth] = "<veth " + c.name + "/" + e.ifname + ">";
      }
    }
    for (const Network& n : networks) {
      auto cursor = *st.IpCursor(n.id);
      s.store.push_back("network " + n.name + " " + n.bridge + " " + n.subnet.ToString() +
                        " cursor=" + (cursor ? cursor->ToString() : "-"));
    }
    for (const Container& c : containers) {
      s.store.push_back("container " + c.id + " " + c.name + " " + c.mode + " ns=" +
                        c.netns_path + " owner=" + c.netns_owner_id + " state=" +
                        ToString(c.state));
      const std::vector<Endpoint> eps = *st.EndpointsOfContainer(c.id);
      for (const Endpoint& e : eps) {
        std::string aliases;
        for (const std::string& a : e.aliases) aliases += a + ",";
        s.store.push_back("endpoint " + c.name + " " + e.network_id + " " + e.ifname + " " +
                          e.ip.ToString() + " " + e.mac + " " + e.host_veth + " " + aliases);
      }
    }
    for (const auto& [p, ip] : ports) {
      s.store.push_back("port " + p.host_ip.ToString() + ":" + std::to_string(p.host_port) +
                        "+" + std::to_string(p.count) + " -> " + ip.ToString() + ":" +
                        std::to_string(p.container_port));
    }
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(root(), ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      std::string rel = std::filesystem::relative(it->path(), root()).string();
      // The database, and the parent of every container's directory (made once, kept).
      if (rel.rfind("berth.db", 0) == 0 || rel == "containers") continue;
      // A removal that failed keeps its intent by design (operation.h): recovery finishes it
      // once this process is gone. Any other intent left behind is a leak.
      if (rel.rfind("intents/", 0) == 0) {
        std::ifstream in(it->path());
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (text.find("\"kind\":\"remove-") != std::string::npos ||
            text.find("\"kind\":\"disconnect\"") != std::string::npos ||
            text.find("\"kind\":\"detach-external\"") != std::string::npos ||
            text.find("\"kind\":\"release-endpoints\"") != std::string::npos) {
          continue;
        }
      }
      s.files.push_back(rel);
    }
    s.kernel = kernel.Dump(live);
    // Longest first: an id is never a part of a shorter name, but a name may contain an id.
    names[dir_] = "<tmp>";
    std::vector<std::pair<std::string, std::string>> order(names.begin(), names.end());
    std::sort(order.begin(), order.end(),
              [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    for (auto* v : {&s.store, &s.files, &s.kernel}) {
      for (std::string& line : *v) {
        for (const auto& [from, to] : order) {
          for (size_t pos = 0; (pos = line.find(from, pos)) != std::string::npos;) {
            line.replace(pos, from.size(), to);
            pos += to.size();
          }
        }
      }
      std::sort(v->begin(), v->end());
    }
    return s;
  }

  fakes::FakeKernel kernel;
  int commits = 0;           // operations committed (or tried to)
  int fail_commit_at = -1;  // the commit that fails; -1: none

 private:
  std::string dir_, cni_netns_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace berth::engine
