#include "diagnose/events.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/services.h"

namespace berth::diagnose {

namespace {

constexpr off_t kMaxLog = 1 << 20;

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string PortKey(const PortMapping& p, const IpAddr& ip) {
  return ip.ToString() + " " + (p.protocol == Protocol::kUdp ? "udp" : "tcp") + " " +
         p.host_ip.ToString() + ":" + std::to_string(p.host_port);
}

std::string PortText(const PortMapping& p) {
  std::string host = p.host_ip.IsUnspecified() ? "" : p.host_ip.ToString() + ":";
  std::string n = p.count > 1 ? "-" + std::to_string(p.host_port + p.count - 1) : "";
  return host + std::to_string(p.host_port) + n + "->" + std::to_string(p.container_port) +
         (p.protocol == Protocol::kUdp ? "/udp" : "/tcp");
}

}  // namespace

std::string EventsPath(const std::string& root) { return root + "/events.jsonl"; }

std::string ToJson(const Event& e) {
  nlohmann::json j = {{"time", e.time}, {"type", e.type}, {"action", e.action},
                      {"name", e.name}, {"attributes", e.attributes}};
  return j.dump();
}

std::optional<Event> ParseEvent(const std::string& line) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  Event e;
  e.time = j.value("time", 0.0);
  e.type = j.value("type", "");
  e.action = j.value("action", "");
  e.name = j.value("name", "");
  if (j.contains("attributes") && j["attributes"].is_object()) {
    for (auto& [k, v] : j["attributes"].items()) {
      if (v.is_string()) e.attributes[k] = v.get<std::string>();
    }
  }
  return e;
}

std::string ToText(const Event& e) {
  time_t secs = static_cast<time_t>(e.time);
  int ms = static_cast<int>((e.time - static_cast<double>(secs)) * 1000);
  tm t{};
  gmtime_r(&secs, &t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900,
                t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ms);
  std::string out = std::string(buf) + " " + e.type + " " + e.action + " " + e.name;
  if (!e.attributes.empty()) {
    out += " (";
    bool first = true;
    for (const auto& [k, v] : e.attributes) {
      out += (first ? "" : ", ") + k + "=" + v;
      first = false;
    }
    out += ")";
  }
  return out;
}

Result<double> ParseSince(const std::string& text, double now) {
  if (text.empty()) return Error::Invalid("--since needs a duration (10m) or a unix time");
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || v < 0 || !std::isfinite(v)) {
    return Error::Invalid("bad --since " + text + ": expected 30s, 10m, 2h, 1d or unix seconds");
  }
  std::string unit(end);
  if (unit.empty()) return v;  // an absolute unix time
  double scale = unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : unit == "d" ? 86400 : 0;
  if (scale == 0) {
    return Error::Invalid("bad --since " + text + ": expected 30s, 10m, 2h, 1d or unix seconds");
  }
  return now - v * scale;
}

Result<std::vector<Event>> ReadEvents(const std::string& root, double since) {
  std::vector<Event> out;
  for (const std::string& path : {EventsPath(root) + ".1", EventsPath(root)}) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      auto e = ParseEvent(line);
      if (e && e->time >= since) out.push_back(std::move(*e));
    }
  }
  return out;
}

Result<EventRecorder::Snapshot> EventRecorder::Read(store::Store& store) {
  Snapshot s;
  BERTH_ASSIGN_OR_RETURN(std::vector<Network> nets, store.ListNetworks());
  for (Network& n : nets) {
    BERTH_ASSIGN_OR_RETURN(std::vector<Endpoint> eps, store.EndpointsOfNetwork(n.id));
    for (Endpoint& e : eps) {
      e.network_name = n.name;
      s.endpoints[{e.container_id, e.network_id}] = std::move(e);
    }
    s.networks[n.id] = std::move(n);
  }
  BERTH_ASSIGN_OR_RETURN(std::vector<Container> cs, store.ListContainers());
  for (Container& c : cs) s.containers[c.id] = std::move(c);
  BERTH_ASSIGN_OR_RETURN(auto ports, store.AllPorts());
  for (const auto& [p, ip] : ports) s.ports[PortKey(p, ip)] = PortText(p) + " " + ip.ToString();
  BERTH_ASSIGN_OR_RETURN(std::vector<Service> services, store.ListServices());
  for (const Service& svc : services) {
    BERTH_ASSIGN_OR_RETURN(std::vector<IpAddr> backends, engine::BackendsOf(store, svc));
    s.services[svc.id] = {svc.name, std::set<IpAddr>(backends.begin(), backends.end())};
  }
  return s;
}

namespace {

// "10.1.0.3,10.1.0.4": the addresses in `a` and not in `b`.
std::string Missing(const std::set<IpAddr>& a, const std::set<IpAddr>& b) {
  std::string out;
  for (const IpAddr& ip : a) {
    if (!b.count(ip)) out += (out.empty() ? "" : ",") + ip.ToString();
  }
  return out;
}

}  // namespace

Status EventRecorder::Observe(store::Store& store) {
  BERTH_ASSIGN_OR_RETURN(Snapshot now, Read(store));
  std::vector<Event> ev;
  double t = Now();
  auto add = [&](const char* type, const char* action, const std::string& name,
                 std::map<std::string, std::string> attrs = {}) {
    ev.push_back({t, type, action, name, std::move(attrs)});
  };
  if (!last_) {
    add("daemon", "start", "berthd");
  } else {
    const Snapshot& was = *last_;
    auto cname = [&](const std::string& id) {
      if (auto it = now.containers.find(id); it != now.containers.end()) return it->second.name;
      auto old = was.containers.find(id);
      return old != was.containers.end() ? old->second.name : id.substr(0, 12);
    };
    for (const auto& [id, n] : now.networks) {
      if (!was.networks.count(id)) {
        add("network", "create", n.name, {{"subnet", n.subnet.ToString()}, {"bridge", n.bridge}});
      }
    }
    for (const auto& [id, c] : now.containers) {
      auto old = was.containers.find(id);
      if (old == was.containers.end()) add("container", "create", c.name);
      bool running = c.state == ContainerState::kRunning;
      bool was_running = old != was.containers.end() &&
                         old->second.state == ContainerState::kRunning;
      if (running && (!was_running || old->second.pid != c.pid)) {
        add("container", "start", c.name, {{"pid", std::to_string(c.pid)}});
      }
      if (!running && was_running) {
        add("container", "die", c.name, {{"exit_code", std::to_string(c.exit_code)}});
      }
    }
    for (const auto& [key, e] : now.endpoints) {
      if (!was.endpoints.count(key)) {
        add("endpoint", "attach", cname(key.first),
            {{"network", e.network_name}, {"ip", e.ip.ToString()}, {"interface", e.ifname}});
      }
    }
    for (const auto& [key, e] : was.endpoints) {
      if (!now.endpoints.count(key)) {
        add("endpoint", "detach", cname(key.first),
            {{"network", e.network_name}, {"ip", e.ip.ToString()}});
      }
    }
    for (const auto& [key, text] : now.ports) {
      if (!was.ports.count(key)) add("port", "publish", text);
    }
    for (const auto& [key, text] : was.ports) {
      if (!now.ports.count(key)) add("port", "unpublish", text);
    }
    for (const auto& [id, svc] : now.services) {
      auto old = was.services.find(id);
      if (old == was.services.end()) {
        add("service", "create", svc.name, {{"backends", std::to_string(svc.backends.size())}});
        continue;
      }
      if (old->second.backends == svc.backends) continue;
      add("service", "backends", svc.name,
          {{"service", svc.name},
           {"added", Missing(svc.backends, old->second.backends)},
           {"removed", Missing(old->second.backends, svc.backends)},
           {"backends", std::to_string(svc.backends.size())}});
    }
    for (const auto& [id, svc] : was.services) {
      if (!now.services.count(id)) add("service", "remove", svc.name);
    }
    for (const auto& [id, c] : was.containers) {
      if (!now.containers.count(id)) add("container", "remove", c.name);
    }
    for (const auto& [id, n] : was.networks) {
      if (!now.networks.count(id)) add("network", "remove", n.name);
    }
  }
  last_ = std::move(now);
  return Append(ev);
}

Status EventRecorder::ObserveNodes(const std::vector<NodeView>& nodes) {
  std::map<std::string, std::optional<bool>> now;
  for (const NodeView& n : nodes) now[n.name] = n.ready;
  std::vector<Event> ev;
  if (nodes_) {
    double t = Now();
    const auto& was = *nodes_;
    for (auto& [name, ready] : now) {
      auto old = was.find(name);
      if (old == was.end()) {
        ev.push_back({t, "node", "join", name, {}});
        continue;
      }
      if (!ready) {
        ready = old->second;  // unknown now: what we knew stays, so its change is seen later
      } else if (old->second && *old->second != *ready) {
        ev.push_back({t, "node", *ready ? "ready" : "lost", name, {}});
      }
    }
    for (const auto& [name, ready] : was) {
      if (!now.count(name)) ev.push_back({t, "node", "remove", name, {}});
    }
  }
  nodes_ = std::move(now);
  return Append(ev);
}

Status EventRecorder::Record(Event e) {
  if (e.time == 0) e.time = Now();
  return Append({std::move(e)});
}

Status EventRecorder::Append(const std::vector<Event>& events) {
  if (events.empty()) return Ok();
  std::string path = EventsPath(root_);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && st.st_size > kMaxLog) {
    ::rename(path.c_str(), (path + ".1").c_str());
  }
  std::string text;
  for (const Event& e : events) text += ToJson(e) + "\n";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Error::System("open " + path, errno);
  ssize_t n = ::write(fd, text.data(), text.size());  // one write: lines never interleave
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) return Error::System("write " + path, err);
  return Ok();
}

}  // namespace berth::diagnose
