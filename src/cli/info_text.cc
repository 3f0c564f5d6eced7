#include "cli/info_text.h"

#include <cstdio>
#include <string>

namespace berth::cli {

using nlohmann::json;

namespace {

std::string Str(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  return j.dump();
}

}  // namespace

void PrintManagers(const json& managers) {
  std::printf("Firewall Managers:\n");
  for (const json& f : managers) {
    std::string action = f.contains("error") ? "error: " + Str(f["error"]) : Str(f["action"]);
    std::printf("  %s: %s (%s)\n    berth: %s\n", Str(f["manager"]).c_str(),
                f["present"].get<bool>() ? "found" : "not found", Str(f["state"]).c_str(),
                action.c_str());
  }
}

void PrintText(const json& d, const std::vector<KernelFeature>& features) {
  std::printf("Server: berth\n");
  std::printf(" Version:          %s\n", Str(d["server_version"]).c_str());
  std::printf(" Kernel Version:   %s\n", Str(d["kernel_version"]).c_str());
  std::printf(" OS/Arch:          %s/%s\n", Str(d["operating_system"]).c_str(),
              Str(d["architecture"]).c_str());
  std::printf(" State Root:       %s\n", Str(d["state_root"]).c_str());
  if (d.contains("containers")) {
    std::printf("Containers: %s\n Running: %s\n Stopped: %s\n", Str(d["containers"]).c_str(),
                Str(d["containers_running"]).c_str(), Str(d["containers_stopped"]).c_str());
  } else {
    std::printf("Containers: error: %s\n", Str(d["containers_error"]).c_str());
  }
  std::string names;
  for (const json& n : d["networks"]) names += (names.empty() ? "" : " ") + Str(n);
  std::printf("Networks: %zu\n %s\n", d["networks"].size(), names.c_str());

  const json& fw = d["firewall"];
  std::printf("Firewall:\n Backend:          %s (table %s)\n", Str(fw["backend"]).c_str(),
              Str(fw["table"]).c_str());
  if (fw.contains("error")) {
    std::printf(" In Sync:          unknown: %s\n", Str(fw["error"]).c_str());
  } else if (fw["in_sync"].get<bool>()) {
    std::printf(" In Sync:          yes%s\n",
                fw.contains("note") ? (" (" + Str(fw["note"]) + ")").c_str() : "");
  } else {
    std::printf(" In Sync:          no (%zu differences; berth system reconcile repairs them)\n",
                fw["differences"].size());
    for (const json& diff : fw["differences"]) std::printf("  %s\n", Str(diff).c_str());
  }

  const json& b = d["berthd"];
  std::printf("berthd:\n Running:          %s", Str(b["state"]).c_str());
  if (b.contains("pid")) std::printf(" (pid %s)", Str(b["pid"]).c_str());
  std::printf("\n");
  if (b.contains("version")) std::printf(" Version:          %s\n", Str(b["version"]).c_str());
  if (b.contains("dns")) {
    std::string on;
    for (const json& a : b["dns"]["listening"]) on += (on.empty() ? "" : " ") + Str(a) + ":53";
    std::printf(" DNS:              %s records, listening on %s\n",
                Str(b["dns"]["records"]).c_str(), on.empty() ? "nothing" : on.c_str());
  } else if (!b["running"].get<bool>()) {
    std::printf(" DNS:              off (berthd starts with the first container on a network "
                "with DNS)\n");
  }
  if (b.contains("error")) std::printf(" Error:            %s\n", Str(b["error"]).c_str());

  std::printf("Kernel Features:\n");
  for (const KernelFeature& f : features) {
    std::printf(" %-17s %s\n", (f.name + ":").c_str(), f.detail.c_str());
  }

  const json& br = d["default_bridge"];
  std::printf("Default Bridge:\n Config File:      %s%s\n", Str(br["config_file"]).c_str(),
              br["config_present"].get<bool>() ? "" : " (absent: Docker's defaults)");
  if (br.contains("error")) std::printf(" Error:            %s\n", Str(br["error"]).c_str());
  std::printf(" bip:              %s\n mtu:              %s\n default-address-pools:",
              Str(br["bip"]).c_str(), Str(br["mtu"]).c_str());
  std::string sep = " ";
  for (const json& p : br["default_address_pools"]) {
    std::printf("%s%s size %s", sep.c_str(), Str(p["base"]).c_str(), Str(p["size"]).c_str());
    sep = ", ";
  }
  std::printf("\n");

  PrintManagers(d["firewall_managers"]);
}

}  // namespace berth::cli
