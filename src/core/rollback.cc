#include "core/rollback.h"

#include "core/log.h"

namespace berth {

void Rollback::Run() {
  while (!steps_.empty()) {
    auto [what, undo] = std::move(steps_.back());
    steps_.pop_back();
    Status st = undo();
    if (!st.ok()) log::Warn("rollback: " + what + ": " + st.error().message());
  }
}

}  // namespace berth
