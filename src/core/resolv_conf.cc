#include "core/resolv_conf.h"

namespace berth {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

std::vector<ResolvLine> ParseResolvConf(std::string_view text) {
  std::vector<ResolvLine> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = Trim(text.substr(pos, nl == std::string_view::npos ? nl : nl - pos));
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    size_t end = line.find_first_of(" \t");
    std::string_view keyword = line.substr(0, end);
    std::string_view value = end == std::string_view::npos ? "" : Trim(line.substr(end));
    out.push_back({std::string(keyword), std::string(value), std::string(line)});
  }
  return out;
}

}  // namespace berth
