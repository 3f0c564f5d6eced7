// Logging for every layer. Library code never prints: it logs, and the front end decides where
// lines go (the sink). berthd keeps the default sink, one logfmt line per event on stderr,
//   time=2026-11-24T12:31:05.123Z level=info msg="listening" addr=172.18.0.1 proto=udp
// so logs stay greppable (`grep 'level=error'`, `grep 'addr=172.18.0.1'`) and parseable; the
// CLI and the CNI plugin install a sink that speaks to people ("berth: warning: ...").
//
// Thread-safe: the default sink writes each line with a single write(2); set the sink before
// starting threads.
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

/// Receives every line at or above the level. nullptr restores the default (logfmt on stderr).
using Sink = void (*)(Level level, std::string_view msg, std::initializer_list<Field> fields);
void SetSink(Sink sink);
/// A sink for command-line tools: "PROGRAM: warning: msg (k=v ...)" on stderr; `program` must
/// outlive the process (a string literal).
void UseHumanSink(const char* program);

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
