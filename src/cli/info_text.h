// `berth info`'s text: docker info's layout over the JSON document info_cmd.cc gathers (the
// same document --format json prints, so the two never disagree).
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "cli/host_features.h"

namespace berth::cli {

/// The host's other firewall managers and what berth does about each (also `system
/// firewall-sync`'s report).
void PrintManagers(const nlohmann::json& managers);

/// The whole document; `features` in the order they are printed.
void PrintText(const nlohmann::json& doc, const std::vector<KernelFeature>& features);

}  // namespace berth::cli
