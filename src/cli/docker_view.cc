#include "cli/docker_view.h"

#include <cctype>
#include <ctime>

#include "core/model.h"

namespace berth::cli {

using nlohmann::json;

namespace {

// A member of an object, or `fallback` when absent or null.
json Get(const json& j, const char* key, json fallback = nullptr) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? fallback : *it;
}

std::string GetString(const json& j, const char* key) {
  json v = Get(j, key, "");
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// Unix seconds as docker's inspect writes them (RFC 3339, UTC) or as its ps does.
std::string Time(const json& seconds, bool for_ps) {
  if (!seconds.is_number_integer()) return "";
  std::time_t t = seconds.get<int64_t>();
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, for_ps ? "%Y-%m-%d %H:%M:%S +0000 UTC" : "%Y-%m-%dT%H:%M:%SZ",
                &tm);
  return buf;
}

// Docker fills the top-level addresses for its default network; berth for its default network
// when attached, otherwise for the first network (by name).
const json* PrimaryNetwork(const json& networks) {
  if (!networks.is_object() || networks.empty()) return nullptr;
  auto it = networks.find(kDefaultNetworkName);
  return it != networks.end() ? &*it : &*networks.begin();
}

std::string PortRange(const json& first, const json& count) {
  int64_t f = first.is_number_integer() ? first.get<int64_t>() : 0;
  int64_t n = count.is_number_integer() ? count.get<int64_t>() : 1;
  return n <= 1 ? std::to_string(f) : std::to_string(f) + "-" + std::to_string(f + n - 1);
}

std::string ShortId(const json& doc) { return GetString(doc, "id").substr(0, 12); }

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

json DockerContainerView(json c) {
  bool running = Get(c, "running", false).get<bool>();
  json networks = Get(c, "networks", json::object());
  c["Id"] = Get(c, "id", "");
  c["Name"] = "/" + GetString(c, "name");
  c["Created"] = Time(Get(c, "created"), false);
  c["State"] = {
      {"Status", Get(c, "state", "")},
      {"Running", running},
      {"Pid", running ? Get(c, "pid", 0) : json(0)},
      {"ExitCode", Get(c, "exit_code", 0)},
  };
  c["Config"] = {{"Hostname", Get(c, "hostname", "")}, {"Cmd", Get(c, "command", json::array())}};
  c["HostConfig"] = {{"NetworkMode", Get(c, "mode", "")},
                     {"AutoRemove", Get(c, "auto_remove", false)}};
  json settings = {{"SandboxKey", Get(Get(c, "netns"), "path", "")},
                   {"IPAddress", ""},
                   {"IPPrefixLen", 0},
                   {"MacAddress", ""},
                   {"Gateway", ""},
                   {"Ports", json::object()},
                   {"Networks", json::object()}};
  for (const auto& [name, n] : networks.items()) {
    settings["Networks"][name] = {
        {"NetworkID", Get(n, "network_id", "")},  {"IPAddress", Get(n, "ip", "")},
        {"IPPrefixLen", Get(n, "prefix_len", 0)}, {"MacAddress", Get(n, "mac", "")},
        {"Gateway", Get(n, "gateway", "")},       {"Aliases", Get(n, "aliases", json::array())},
    };
    // Ports as docker keys them: "80/tcp": [{"HostIp": ..., "HostPort": "8080"}], one key
    // per port of a range.
    for (const json& p : Get(n, "ports", json::array())) {
      int64_t count = Get(p, "count", 1).get<int64_t>();
      for (int64_t i = 0; i < count && i < 65536; ++i) {
        std::string key = std::to_string(Get(p, "container_port", 0).get<int64_t>() + i) + "/" +
                          GetString(p, "protocol");
        settings["Ports"][key].push_back(
            {{"HostIp", Get(p, "host_ip", "")},
             {"HostPort", std::to_string(Get(p, "host_port", 0).get<int64_t>() + i)}});
      }
    }
  }
  // A stopped container's networks, as Docker lists them: no address (unless a static one
  // it gets back), the MAC and aliases it keeps.
  const json stopped = Get(c, "stopped_networks", json::object());
  for (const auto& [name, n] : stopped.items()) {
    if (settings["Networks"].contains(name)) continue;
    settings["Networks"][name] = {
        {"NetworkID", Get(n, "network_id", "")}, {"IPAddress", ""},
        {"IPPrefixLen", 0},                       {"MacAddress", Get(n, "mac", "")},
        {"Gateway", ""},                          {"Aliases", Get(n, "aliases", json::array())},
    };
    if (Get(n, "static_ip", false).get<bool>()) {
      settings["Networks"][name]["IPAMConfig"] = {{"IPv4Address", Get(n, "ip", "")}};
    }
  }
  if (const json* primary = PrimaryNetwork(networks)) {
    settings["IPAddress"] = Get(*primary, "ip", "");
    settings["IPPrefixLen"] = Get(*primary, "prefix_len", 0);
    settings["MacAddress"] = Get(*primary, "mac", "");
    settings["Gateway"] = Get(*primary, "gateway", "");
  }
  c["NetworkSettings"] = std::move(settings);
  return c;
}

json DockerNetworkView(json n) {
  n["Id"] = Get(n, "id", "");
  n["Name"] = Get(n, "name", "");
  n["Driver"] = Get(n, "driver", "");
  n["Scope"] = "local";
  n["Internal"] = Get(n, "internal", false);
  n["EnableIPv6"] = false;
  n["Options"] = Get(n, "options", json::object());
  n["Created"] = Time(Get(n, "created"), false);
  json config = {{"Subnet", Get(n, "subnet", "")}, {"Gateway", Get(n, "gateway", "")}};
  if (json range = Get(n, "ip_range"); !range.is_null()) config["IPRange"] = range;
  n["IPAM"] = {{"Driver", "default"}, {"Config", json::array({config})}};
  json containers = json::object();
  for (const json& c : Get(n, "containers", json::array())) {
    containers[GetString(c, "id")] = {
        {"Name", Get(c, "name", "")},
        {"IPv4Address",
         GetString(c, "ip") + "/" + std::to_string(Get(c, "prefix_len", 0).get<int>())},
        {"MacAddress", Get(c, "mac", "")},
    };
  }
  n["Containers"] = std::move(containers);
  return n;
}

json PsRow(json c) {
  std::string status;
  std::string state = GetString(c, "state");
  bool running = Get(c, "running", false).get<bool>();
  if (Get(c, "cni", false).get<bool>()) {
    status = "cni";  // its runtime (podman, kubelet...) knows the rest
  } else if (running) {
    status = "running";
  } else if (state == "exited" && Get(c, "exit_code").is_number_integer()) {
    status = "exited (" + std::to_string(Get(c, "exit_code").get<int64_t>()) + ")";
  } else {
    status = state;
  }
  std::string command, nets, ips, ports;
  for (const json& a : Get(c, "command", json::array())) {
    command += (command.empty() ? "" : " ") + (a.is_string() ? a.get<std::string>() : a.dump());
  }
  const json networks = Get(c, "networks", json::object());
  for (const auto& [name, n] : networks.items()) {
    nets += (nets.empty() ? "" : ",") + name;
    ips += (ips.empty() ? "" : ",") + GetString(n, "ip");
    for (const json& p : Get(n, "ports", json::array())) {
      ports += (ports.empty() ? "" : ", ") + GetString(p, "host_ip") + ":" +
               PortRange(Get(p, "host_port"), Get(p, "count")) + "->" +
               PortRange(Get(p, "container_port"), Get(p, "count")) + "/" +
               GetString(p, "protocol");
    }
  }
  if (nets.empty()) nets = GetString(c, "mode");
  c["ID"] = ShortId(c);
  c["Names"] = Get(c, "name", "");
  c["Command"] = json(command).dump();  // docker quotes it
  c["CreatedAt"] = Time(Get(c, "created"), true);
  c["Status"] = status;
  c["State"] = state;
  c["Ports"] = ports;
  c["Networks"] = nets;
  c["Pid"] = running ? Get(c, "pid", 0) : json(0);
  c["IPs"] = ips;
  return c;
}

std::string PsHeader(const std::string& field) {
  if (field == "ID") return "CONTAINER ID";
  if (field == "CreatedAt") return "CREATED AT";
  return Upper(field);
}

json NetworkLsRow(json n) {
  n["ID"] = ShortId(n);
  n["Name"] = Get(n, "name", "");
  n["Driver"] = Get(n, "driver", "");
  n["Scope"] = "local";
  n["IPv6"] = false;
  n["Internal"] = Get(n, "internal", false);
  n["Subnet"] = Get(n, "subnet", "");
  n["Gateway"] = Get(n, "gateway", "");
  n["CreatedAt"] = Time(Get(n, "created"), true);
  return n;
}

std::string NetworkLsHeader(const std::string& field) {
  if (field == "ID") return "NETWORK ID";
  if (field == "CreatedAt") return "CREATED AT";
  return Upper(field);
}

}  // namespace berth::cli
