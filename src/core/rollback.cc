#include "core/rollback.h"

#include <cstdio>

namespace berth {

void Rollback::Run() {
  while (!steps_.empty()) {
    auto [what, undo] = std::move(steps_.back());
    steps_.pop_back();
    Status st = undo();
    if (!st.ok()) {
      std::fprintf(stderr, "berth: warning: rollback: %s: %s\n", what.c_str(),
                   st.error().message().c_str());
    }
  }
}

}  // namespace berth
