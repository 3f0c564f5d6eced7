#include "engine/bridge_config.h"

#include <nlohmann/json.hpp>

#include "engine/options.h"
#include "sys/proc.h"

namespace berth::engine {

namespace {

constexpr size_t kMaxPoolSubnets = 65536;  // what one base may be split into

}  // namespace

BridgeConfig DefaultBridgeConfig() {
  BridgeConfig c;
  c.gateway = IpAddr::V4((172u << 24) | (17u << 16) | 1);
  c.subnet = Cidr(IpAddr::V4((172u << 24) | (17u << 16)), 16);
  c.service_cidr = Cidr(IpAddr::V4((10u << 24) | (96u << 16)), 16);
  return c;
}

Result<BridgeConfig> ParseBridgeConfig(std::string_view text) {
  using nlohmann::json;
  BridgeConfig c = DefaultBridgeConfig();
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error::Invalid("config.json: not a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (key == "bip") {
      if (!value.is_string())
        return Error::Invalid("config.json: bip: a string like 172.26.0.1/16");
      BERTH_ASSIGN_OR_RETURN(Cidr bip, Cidr::ParseInterface(value.get<std::string>()));
      if (!bip.is_v4() || bip.prefix() > 30 || bip.addr() == bip.Network() ||
          bip.addr() == bip.Last()) {
        return Error::Invalid("config.json: bip " + value.get<std::string>() +
                              ": an IPv4 host address with its prefix (/30 or larger), e.g. "
                              "172.26.0.1/16");
      }
      c.gateway = bip.addr();
      c.subnet = Cidr(bip.Network(), bip.prefix());
    } else if (key == "mtu") {
      if (!value.is_number_integer()) return Error::Invalid("config.json: mtu: a number");
      c.mtu = value.get<int>();
      BERTH_TRY_CTX(ValidateMtu(c.mtu), "config.json");
    } else if (key == "default-address-pools") {
      if (!value.is_array()) return Error::Invalid("config.json: default-address-pools: a list");
      for (const json& pool : value) {
        if (!pool.is_object() || !pool.contains("base") || !pool.contains("size") ||
            !pool["base"].is_string() || !pool["size"].is_number_integer()) {
          return Error::Invalid(
              "config.json: default-address-pools: entries like "
              "{\"base\": \"10.10.0.0/16\", \"size\": 24}");
        }
        BERTH_ASSIGN_OR_RETURN(Cidr base, Cidr::ParseNetwork(pool["base"].get<std::string>()));
        int size = pool["size"].get<int>();
        if (!base.is_v4() || size < base.prefix() || size > 30) {
          return Error::Invalid("config.json: pool " + base.ToString() + " size " +
                                std::to_string(size) +
                                ": size must be between the base's "
                                "prefix and 30");
        }
        u128 step = u128{1} << (32 - size);
        size_t count = 0;
        for (u128 a = base.Network().ToU128(); a <= base.Last().ToU128(); a += step) {
          if (++count > kMaxPoolSubnets) {
            return Error::Invalid("config.json: pool " + base.ToString() + " size " +
                                  std::to_string(size) + " holds too many subnets");
          }
          c.pools.emplace_back(IpAddr::FromU128(false, a), size);
        }
      }
    } else if (key == "service-cidr") {
      if (!value.is_string()) {
        return Error::Invalid("config.json: service-cidr: a string like 10.96.0.0/16");
      }
      BERTH_ASSIGN_OR_RETURN(c.service_cidr, Cidr::ParseNetwork(value.get<std::string>()));
      if (!c.service_cidr.is_v4() || c.service_cidr.prefix() > 30) {
        return Error::Invalid("config.json: service-cidr " + value.get<std::string>() +
                              ": an IPv4 network of /30 or larger");
      }
    } else {
      return Error::Invalid("config.json: unknown key " + key +
                            " (berth reads bip, mtu, default-address-pools and service-cidr)");
    }
  }
  return c;
}

Result<BridgeConfig> LoadBridgeConfig(const std::string& path) {
  auto text = sys::ReadFile(path);
  if (!text.ok()) {
    if (text.error().code() == Code::kNotFound) return DefaultBridgeConfig();
    return std::move(text).error();
  }
  return ParseBridgeConfig(*text);
}

}  // namespace berth::engine
