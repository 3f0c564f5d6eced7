// Turning engine results into what users read: JSON documents (stable keys, for scripts and
// tests) and aligned tables.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace berth::cli {

nlohmann::json NetworkJson(const Network& n);
nlohmann::json NetworkStatusJson(const engine::NetworkStatus& s);
nlohmann::json ContainerJson(const engine::ContainerStatus& s);

/// `inspect` for several names: one JSON document for one name, an array for several; names
/// that fail are reported and make the exit status 1, the others are still printed.
int PrintInspected(const std::vector<std::string>& names,
                   const std::function<Result<nlohmann::json>(const std::string&)>& inspect);

/// Columns padded to their widest cell, separated by three spaces (docker's look).
std::string Table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows);

}  // namespace berth::cli
