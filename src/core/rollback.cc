#include "core/rollback.h"

#include "core/log.h"

namespace berth {

int Rollback::Run() {
  int failed = 0;
  while (!steps_.empty()) {
    auto [what, undo] = std::move(steps_.back());
    steps_.pop_back();
    Status st = undo();
    if (!st.ok()) {
      ++failed;
      log::Warn("rollback: " + what + ": " + st.error().message());
    }
  }
  return failed;
}

}  // namespace berth
