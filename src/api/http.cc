#include "api/http.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>

namespace berth::api {

namespace {

constexpr std::string_view kEndOfHead = "\r\n\r\n";

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Digits only, no sign, no overflow past `max` (anything larger is reported as max + 1).
bool ParseLength(std::string_view s, size_t max, size_t* out) {
  if (s.empty() || s.size() > 19) return false;
  size_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<size_t>(c - '0');
  }
  *out = std::min(v, max + 1);
  return true;
}

// "HTTP/1.<d>" -> the minor version; -1: another major version; -2: not an HTTP version.
int ParseVersion(std::string_view v) {
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" ||
      !std::isdigit(static_cast<unsigned char>(v[5])) || v[6] != '.' ||
      !std::isdigit(static_cast<unsigned char>(v[7]))) {
    return -2;
  }
  if (v[5] != '1') return -1;
  return v[7] - '0';
}

// Splits header lines ("Name: value") after the first line. False on a malformed line.
bool ParseHeaders(std::string_view lines, std::vector<std::pair<std::string, std::string>>* out) {
  while (!lines.empty()) {
    size_t eol = lines.find("\r\n");
    std::string_view line = lines.substr(0, eol);
    lines = eol == std::string_view::npos ? std::string_view() : lines.substr(eol + 2);
    size_t colon = line.find(':');
    // No obsolete line folding, no space before the colon (RFC 9112 section 5.1).
    if (colon == std::string_view::npos || !IsToken(line.substr(0, colon))) return false;
    out->emplace_back(Lower(line.substr(0, colon)), std::string(Trim(line.substr(colon + 1))));
  }
  return true;
}

ParseState Fail(ParseState s, int status, std::string why, ParseError* err) {
  if (err) *err = {status, std::move(why)};
  return s;
}

}  // namespace

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

ParseState ParseRequest(std::string_view buf, const Limits& limits, HttpRequest* out,
                        size_t* consumed, ParseError* err) {
  size_t end = buf.substr(0, limits.max_head + kEndOfHead.size()).find(kEndOfHead);
  if (end == std::string_view::npos) {
    if (buf.size() > limits.max_head) {
      return Fail(ParseState::kTooLarge, 431,
                  "request head over " + std::to_string(limits.max_head) + " bytes", err);
    }
    // Not even the start of a request line: say so now rather than wait for more.
    if (!buf.empty() && !IsTokenChar(buf.front())) {
      return Fail(ParseState::kBad, 400, "not an HTTP request", err);
    }
    return ParseState::kIncomplete;
  }
  std::string_view head = buf.substr(0, end);
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Fail(ParseState::kBad, 400, "malformed request line", err);
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  int minor = ParseVersion(line.substr(sp2 + 1));
  if (!IsToken(method) || target.empty() || target.front() != '/') {
    return Fail(ParseState::kBad, 400, "malformed request line", err);
  }
  if (minor == -2) return Fail(ParseState::kBad, 400, "not an HTTP version", err);
  if (minor == -1) {
    return Fail(ParseState::kUnsupported, 505, "only HTTP/1.x is spoken here", err);
  }
  HttpRequest r;
  r.method = std::string(method);
  size_t q = target.find('?');
  r.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) r.query = std::string(target.substr(q + 1));
  r.minor_version = minor;
  if (eol != std::string_view::npos && !ParseHeaders(head.substr(eol + 2), &r.headers)) {
    return Fail(ParseState::kBad, 400, "malformed header line", err);
  }
  if (!r.Header("transfer-encoding").empty()) {
    return Fail(ParseState::kUnsupported, 501, "Transfer-Encoding is not supported", err);
  }
  size_t length = 0;
  bool seen = false;
  for (const auto& [k, v] : r.headers) {
    if (k != "content-length") continue;
    size_t n;
    // Two different lengths are how request smuggling starts: refuse them.
    if (!ParseLength(v, limits.max_body, &n) || (seen && n != length)) {
      return Fail(ParseState::kBad, 400, "bad Content-Length", err);
    }
    length = n;
    seen = true;
  }
  if (length > limits.max_body) {
    return Fail(ParseState::kTooLarge, 413,
                "request body over " + std::to_string(limits.max_body) + " bytes", err);
  }
  size_t body_at = end + kEndOfHead.size();
  if (buf.size() - body_at < length) return ParseState::kIncomplete;
  r.body = std::string(buf.substr(body_at, length));
  if (consumed) *consumed = body_at + length;
  *out = std::move(r);
  return ParseState::kDone;
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

std::string FormatResponse(const HttpResponse& r, int minor_version) {
  std::string out = "HTTP/1." + std::to_string(minor_version == 0 ? 0 : 1) + " " +
                    std::to_string(r.status) + " " + std::string(ReasonPhrase(r.status)) + "\r\n";
  out += "Content-Type: " + r.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
  out += "Connection: close\r\n\r\n";
  out += r.body;
  return out;
}

std::string FormatRequest(std::string_view method, std::string_view path, std::string_view body) {
  std::string out;
  out.reserve(96 + path.size() + body.size());
  out.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: berthd\r\n");
  if (!body.empty()) out += "Content-Type: application/json\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  out.append(body);
  return out;
}

ParseState ParseResponse(std::string_view buf, bool at_eof, HttpResponse* out) {
  size_t end = buf.find(kEndOfHead);
  if (end == std::string_view::npos) return at_eof ? ParseState::kBad : ParseState::kIncomplete;
  std::string_view head = buf.substr(0, end);
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  // "HTTP/1.x NNN reason"
  if (line.size() < 12 || ParseVersion(line.substr(0, 8)) < 0 || line[8] != ' ') {
    return ParseState::kBad;
  }
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(line[i]))) return ParseState::kBad;
    status = status * 10 + (line[i] - '0');
  }
  HttpResponse r;
  r.status = status;
  std::vector<std::pair<std::string, std::string>> headers;
  if (eol != std::string_view::npos && !ParseHeaders(head.substr(eol + 2), &headers)) {
    return ParseState::kBad;
  }
  std::string_view body = buf.substr(end + kEndOfHead.size());
  std::optional<size_t> length;
  for (auto& [k, v] : headers) {
    if (k == "content-type") r.content_type = v;
    if (k == "content-length") {
      size_t n;
      if (!ParseLength(v, SIZE_MAX - 1, &n)) return ParseState::kBad;
      length = n;
    } else if (k != "content-type" && k != "connection") {
      r.headers.emplace_back(k, v);
    }
  }
  if (length) {
    if (body.size() < *length) return at_eof ? ParseState::kBad : ParseState::kIncomplete;
    body = body.substr(0, *length);
  } else if (!at_eof) {
    return ParseState::kIncomplete;  // the body ends when the server closes
  }
  r.body = std::string(body);
  *out = std::move(r);
  return ParseState::kDone;
}

}  // namespace berth::api
