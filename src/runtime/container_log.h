// A container's log: what it printed, byte for byte, in ROOT/containers/ID/log, and beside it
// when each line was written (log.times), so `berth logs --timestamps` shows the time a line
// was written, as Docker's does, not the time it is read.
//
// log.times holds one 16-byte record per line start: the line's offset in the log and the
// wall-clock time in nanoseconds, both little-endian 64-bit. The log itself stays exactly
// what the container wrote (no framing), so `cat` and `berth logs` read the same bytes.
//
// One writer at a time (the container's monitor, or a foreground `run`); readers any time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sys/fd.h"

namespace berth::runtime {

/// Appends to a container's log and its line times.
class LogWriter {
 public:
  /// Opens (creates) `log_path` and `log_path`.times for appending; a log that cannot be
  /// opened makes a writer that writes nothing (the container runs anyway).
  explicit LogWriter(const std::string& log_path);
  bool valid() const { return log_.valid(); }
  void Write(const char* data, size_t size);

 private:
  sys::Fd log_;
  sys::Fd times_;
  uint64_t offset_ = 0;      // the log's size: where the next byte goes
  bool line_start_ = true;   // the next byte starts a line
};

struct LineTime {
  uint64_t offset = 0;
  int64_t unix_ns = 0;
};

/// The line times of the log at `log_path`, in offset order (empty when there are none).
std::vector<LineTime> ReadLineTimes(const std::string& log_path);

/// When the line starting at `offset` was written: the record for it, else the nearest earlier
/// one (a line from before times were kept); 0 when there is none.
int64_t LineWrittenAt(const std::vector<LineTime>& times, uint64_t offset);

/// "2026-12-02T01:02:03.123456789Z " (RFC 3339 with nanoseconds, as `docker logs -t`).
std::string FormatTimestamp(int64_t unix_ns);

}  // namespace berth::runtime
