// Structured logging for long-running processes (berthd): one logfmt line per event on stderr,
//   time=2026-11-24T12:31:05.123Z level=info msg="listening" addr=172.18.0.1 proto=udp
// so logs stay greppable (`grep 'level=error'`, `grep 'addr=172.18.0.1'`) and parseable.
//
// Thread-safe: each line is written with a single write(2).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace berth::log {

enum class Level { kDebug, kInfo, kWarn, kError };

/// Lines below `level` are dropped. Default: kInfo.
void SetLevel(Level level);
bool Enabled(Level level);
/// Parses "debug" | "info" | "warn" | "error".
bool ParseLevel(std::string_view text, Level* level);

using Field = std::pair<std::string_view, std::string>;

void Write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});
inline void Debug(std::string_view msg, std::initializer_list<Field> fields = {}) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, msg, fields);
}
inline void Info(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(Level::kInfo, msg, fields);
}
inline void Warn(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(Level::kWarn, msg, fields);
}
inline void Error(std::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(Level::kError, msg, fields);
}

/// The logfmt line without the trailing newline (exposed for tests).
std::string Format(Level level, std::string_view msg, std::initializer_list<Field> fields,
                   std::string_view time);

}  // namespace berth::log
