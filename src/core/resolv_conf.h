// Reading resolv.conf(5): the one parser behind both the containers' own copies (which keep
// the host's search and options lines) and the DNS forwarder (which sends to its nameservers).
// Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace berth {

struct ResolvLine {
  std::string keyword;  // "nameserver", "search", "options", ...
  std::string value;    // the rest of the line, trimmed
  std::string text;     // the whole line, trimmed
};

/// The meaningful lines, in order: blank lines and comments (# or ;) are skipped.
std::vector<ResolvLine> ParseResolvConf(std::string_view text);

}  // namespace berth
