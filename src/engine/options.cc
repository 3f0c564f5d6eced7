#include "engine/options.h"

#include <charconv>

#include "core/ip.h"
#include "core/model.h"
#include "core/names.h"

namespace berth::engine {

namespace {

struct OptionKey {
  const char* canonical;
  const char* docker;
};
constexpr OptionKey kKeys[] = {
    {"masquerade", "com.docker.network.bridge.enable_ip_masquerade"},
    {"icc", "com.docker.network.bridge.enable_icc"},
    {"mtu", "com.docker.network.driver.mtu"},
    {"bridge_name", "com.docker.network.bridge.name"},
    {"dns", "berth.dns"},
    // A node's share of a multi-host cluster (berth cluster join): routed, not masqueraded,
    // to and from the rest of this CIDR (firewall::NetworkRules::cluster_cidr).
    {"cluster_cidr", "berth.cluster_cidr"},
};

}  // namespace

Status ValidateMtu(int mtu) {
  if (mtu < 68 || mtu > 65535) {
    return Error::Invalid("invalid MTU " + std::to_string(mtu) + ": must be 68-65535");
  }
  return Ok();
}

Result<NetworkOptions> ParseNetworkOptions(const std::vector<std::string>& items) {
  NetworkOptions out;
  for (const std::string& item : items) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Error::Invalid("invalid option \"" + item + "\": expected KEY=VALUE");
    }
    std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    const char* canonical = nullptr;
    for (const auto& k : kKeys) {
      if (key == k.canonical || key == k.docker) canonical = k.canonical;
    }
    if (!canonical) {
      std::string known;
      for (const auto& k : kKeys) known += std::string(known.empty() ? "" : ", ") + k.canonical;
      return Error::Invalid("unknown network option \"" + key + "\" (known: " + known + ")");
    }
    std::string c = canonical;
    if (c == "mtu") {
      int mtu = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), mtu);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
        return Error::Invalid("invalid MTU \"" + value + "\"");
      }
      BERTH_TRY(ValidateMtu(mtu));
      out.mtu = mtu;
      continue;
    }
    if (c == "bridge_name") {
      BERTH_TRY_CTX(ValidateIfName(value), "option bridge_name");
      out.bridge_name = value;
    } else if (c == "cluster_cidr") {
      auto cidr = Cidr::ParseNetwork(value);
      if (!cidr.ok() || !cidr->is_v4()) {
        return Error::Invalid("option cluster_cidr must be an IPv4 network such as "
                              "10.244.0.0/16, not \"" + value + "\"");
      }
    } else if (value != "true" && value != "false") {
      return Error::Invalid("option " + c + " must be true or false, not \"" + value + "\"");
    }
    out.values[c] = value;
  }
  return out;
}

Result<NetworkMode> ParseNetworkMode(const std::string& mode) {
  if (mode == "none") return NetworkMode{NetworkMode::kNone, ""};
  if (mode == "host") return NetworkMode{NetworkMode::kHost, ""};
  if (mode.rfind("container:", 0) == 0) {
    std::string target = mode.substr(10);
    if (target.empty()) return Error::Invalid("--network container: needs a container name");
    return NetworkMode{NetworkMode::kContainer, target};
  }
  if (mode.empty()) return NetworkMode{NetworkMode::kNetwork, kDefaultNetworkName};
  BERTH_TRY(ValidateName("network", mode));
  return NetworkMode{NetworkMode::kNetwork, mode};
}

bool IsReservedNetworkName(const std::string& name) {
  return name == "host" || name == "none" || name == kDefaultNetworkName;
}

}  // namespace berth::engine
