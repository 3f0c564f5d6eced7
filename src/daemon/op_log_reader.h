// berthd's side of the operation log (engine/op_log.h): the lines the CLI and the CNI plugin
// appended since the last read, for the attach/detach counters and histograms.
//
// It keeps its own offset into the log. Lines written before berthd started are not counted
// (SkipToEnd): a counter starts at zero with its process. The log stays small: once berthd has
// read kRotateBytes of it, it renames it to ops.log.1 (replacing the previous one) and keeps
// reading the renamed file until the next call, for a writer that opened it just before the
// rename; writers then create a fresh ops.log. A torn last line (a writer in the middle of its
// write) waits for the next call.
//
// Thread-compatible: berthd calls it under its control mutex.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "engine/op_log.h"
#include "sys/fd.h"

namespace berth::daemon {

class OpLogReader {
 public:
  static constexpr off_t kRotateBytes = 1 << 20;

  explicit OpLogReader(std::string path) : path_(std::move(path)) {}

  /// What the log holds now is history: the next ReadNew() starts after it.
  void SkipToEnd();
  /// The records appended since the last call, oldest first.
  std::vector<engine::OpRecord> ReadNew();

 private:
  void Open(bool at_end);
  void Drain(std::vector<engine::OpRecord>* out);

  std::string path_;
  sys::Fd fd_;
  ino_t ino_ = 0;
  off_t offset_ = 0;
  std::string partial_;  // a line not yet complete
  bool rotated_ = false;  // fd_ is ops.log.1 now: switch to the new ops.log at the next call
};

}  // namespace berth::daemon
