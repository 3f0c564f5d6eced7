#include "core/model.h"

namespace berth {

const char* ToString(ContainerState s) {
  switch (s) {
    case ContainerState::kCreated:
      return "created";
    case ContainerState::kRunning:
      return "running";
    case ContainerState::kExited:
      return "exited";
  }
  return "unknown";
}

std::optional<ContainerState> ParseContainerState(const std::string& s) {
  if (s == "created") return ContainerState::kCreated;
  if (s == "running") return ContainerState::kRunning;
  if (s == "exited") return ContainerState::kExited;
  return std::nullopt;
}

}  // namespace berth
