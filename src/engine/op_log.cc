#include "engine/op_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>

namespace berth::engine {

std::string FormatOpRecord(const OpRecord& r) {
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.6f", r.seconds);
  std::string line = r.kind == OpKind::kAttach ? "attach " : "detach ";
  line += r.source;
  line += r.ok ? " ok " : " failed ";
  line += secs;
  line += ' ';
  line += r.network;
  line += '\n';
  return line;
}

std::optional<OpRecord> ParseOpRecord(std::string_view line) {
  auto word = [&line]() -> std::string_view {
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return {};
    std::string_view w = line.substr(0, sp);
    line.remove_prefix(sp + 1);
    return w;
  };
  OpRecord r;
  std::string_view kind = word(), source = word(), result = word(), secs = word();
  if (kind == "attach") {
    r.kind = OpKind::kAttach;
  } else if (kind == "detach") {
    r.kind = OpKind::kDetach;
  } else {
    return std::nullopt;
  }
  if (source.empty() || (result != "ok" && result != "failed") || line.empty()) {
    return std::nullopt;
  }
  auto [end, ec] = std::from_chars(secs.data(), secs.data() + secs.size(), r.seconds);
  if (ec != std::errc() || end != secs.data() + secs.size() || r.seconds < 0) return std::nullopt;
  r.source = source;
  r.ok = result == "ok";
  r.network = line;
  return r;
}

void OpLog::Append(const std::vector<std::pair<OpKind, std::string>>& endpoints, bool ok,
                   std::chrono::steady_clock::duration took) const {
  if (!enabled() || endpoints.empty()) return;
  double seconds = std::chrono::duration<double>(took).count();
  std::string text;
  for (const auto& [kind, network] : endpoints) {
    text += FormatOpRecord({kind, source_, ok, seconds, network});
  }
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return;
  struct stat st;
  if (::fstat(fd, &st) == 0 && st.st_size < kMaxBytes) {
    (void)!::write(fd, text.data(), text.size());  // one write: lines never interleave
  }
  ::close(fd);
}

}  // namespace berth::engine
