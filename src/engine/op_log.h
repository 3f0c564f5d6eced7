// The operation log: one short line per endpoint attached or detached by the CLI or the CNI
// plugin, appended to ROOT/ops.log when the operation ends, so berthd's metrics count every
// attach and detach exactly (even a container that comes and goes between two of berthd's
// reloads) with how long it took as its caller saw it (issue 14).
//
//   attach cni ok 0.004512 app
//   <kind> <source> <ok|failed> <seconds> <network>     (the network last: any text but '\n')
//
// Writing is on the attach's critical path, so it is as cheap as a log can be: one open with
// O_APPEND, one write of every line of the operation (lines never interleave), no fsync (a
// line lost in a crash is a metric, not state). The log is bounded: writers stop adding once
// it holds kMaxBytes (berthd is not reading it), and berthd moves it aside to ops.log.1 once
// it has read kRotateBytes of it (OpLogReader, berthd's side, lives in daemon/op_log_reader).
//
// Thread-compatible; several processes append to one log at once.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::engine {

enum class OpKind { kAttach, kDetach };

struct OpRecord {
  OpKind kind = OpKind::kAttach;
  std::string source;  // cli | cni
  bool ok = true;
  double seconds = 0;
  std::string network;
  bool operator==(const OpRecord&) const = default;
};

/// One line, '\n' included.
std::string FormatOpRecord(const OpRecord& r);
/// A line without its '\n'; nullopt for anything else (a torn or foreign line).
std::optional<OpRecord> ParseOpRecord(std::string_view line);

/// The writer. `source` empty: a log that writes nothing (berthd, unit tests).
class OpLog {
 public:
  static constexpr long kMaxBytes = 16L << 20;

  OpLog(std::string path, std::string source) : path_(std::move(path)), source_(std::move(source)) {}
  bool enabled() const { return !source_.empty(); }
  /// Appends one record per endpoint; best effort (a metric never fails an operation).
  void Append(const std::vector<std::pair<OpKind, std::string>>& endpoints, bool ok,
              std::chrono::steady_clock::duration took) const;

 private:
  std::string path_, source_;
};

}  // namespace berth::engine
