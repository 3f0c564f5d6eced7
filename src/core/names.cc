#include "core/names.h"

#include <string>

namespace berth {

namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      out += c;
    } else {
      static const char* kHex = "0123456789abcdef";
      out += "\\x";
      out += kHex[(c >> 4) & 0xf];
      out += kHex[c & 0xf];
    }
  }
  return out + "\"";
}

}  // namespace

Status ValidateName(std::string_view kind, std::string_view name) {
  std::string what = "invalid " + std::string(kind) + " name " + Quote(name);
  if (name.empty()) return Error::Invalid("invalid " + std::string(kind) + " name: empty");
  if (name.size() > 63) return Error::Invalid(what + ": longer than 63 characters");
  if (!IsAlnum(name[0])) return Error::Invalid(what + ": must start with a letter or digit");
  for (char c : name) {
    if (!IsAlnum(c) && c != '_' && c != '.' && c != '-') {
      return Error::Invalid(what + ": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    }
  }
  return Ok();
}

Status ValidateIfName(std::string_view name) {
  std::string what = "invalid interface name " + Quote(name);
  if (name.empty()) return Error::Invalid("invalid interface name: empty");
  if (name.size() > 15) return Error::Invalid(what + ": longer than 15 characters");
  if (name == "." || name == "..") return Error::Invalid(what);
  for (char c : name) {
    if (!IsAlnum(c) && c != '_' && c != '.' && c != '-') {
      return Error::Invalid(what + ": only [a-zA-Z0-9_.-] are allowed");
    }
  }
  return Ok();
}

Status ValidateHostname(std::string_view name) {
  std::string what = "invalid hostname " + Quote(name);
  if (name.empty() || name.size() > 253) return Error::Invalid(what + ": must be 1-253 characters");
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    std::string_view label = name.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return Error::Invalid(what + ": each label must be 1-63 characters, not starting or ending with '-'");
    }
    for (char c : label) {
      if (!IsAlnum(c) && c != '-') return Error::Invalid(what + ": only [a-zA-Z0-9-] and dots");
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return Ok();
}

}  // namespace berth
