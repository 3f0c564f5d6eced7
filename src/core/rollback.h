// Rollback: the undo stack of one operation. Each step that changed something pushes how to
// take it back; Commit() keeps the changes, otherwise the destructor undoes them newest first.
// Undo steps are best effort: they log failures (log::Warn) and go on.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace berth {

class Rollback {
 public:
  Rollback() = default;
  Rollback(const Rollback&) = delete;
  Rollback& operator=(const Rollback&) = delete;
  ~Rollback() { Run(); }

  void Add(std::string what, std::function<Status()> undo) {
    steps_.emplace_back(std::move(what), std::move(undo));
  }
  void Commit() { steps_.clear(); }
  /// Undoes everything now (newest first) and empties the stack; returns how many undo steps
  /// failed (0: everything the operation did was taken back).
  int Run();

 private:
  std::vector<std::pair<std::string, std::function<Status()>>> steps_;
};

}  // namespace berth
