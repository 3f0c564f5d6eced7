// HTTP/1.1 framing for berthd's API (DESIGN.md section 1: "local HTTP+JSON API on a unix
// socket"): parse a request with limits, format a response, and the client's mirror images.
// Pure functions over strings: no I/O, no state, safe from any thread.
//
// What is spoken: one request per connection (every response says `Connection: close`),
// bodies framed by Content-Length only (no chunked encoding, which no berth client sends), the
// response's version echoes the request's (HTTP/1.0 clients such as `curl --http1.0` and the
// tests' raw sockets get HTTP/1.0 back).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::api {

struct HttpRequest {
  std::string method;     // "GET", "POST"...
  std::string path;       // the target without its query string
  std::string query;      // after '?', without it; empty when none
  int minor_version = 1;  // HTTP/1.<minor>
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;

  /// The value of header `name` (lowercase), or empty.
  std::string_view Header(std::string_view name) const;
};

struct HttpResponse {
  HttpResponse() = default;
  HttpResponse(int status_code, std::string body_text)
      : status(status_code), body(std::move(body_text)) {}

  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones (Allow...)
};

/// What a server accepts from one client.
struct Limits {
  size_t max_head = 16 * 1024;  // request line and headers
  size_t max_body = 1024 * 1024;
};

enum class ParseState {
  kIncomplete,   // valid so far; read more
  kDone,         // `*out` holds the request; `*consumed` bytes were used
  kBad,          // 400: not HTTP, or a header we cannot trust (two Content-Lengths...)
  kTooLarge,     // 431 (head) or 413 (body): over the limits
  kUnsupported,  // 501: Transfer-Encoding, or 505: a version other than 1.x
};

struct ParseError {
  int status = 0;  // the HTTP status to answer with (400, 413, 431, 501, 505)
  std::string why;
};

/// Parses the request at the start of `buf`. On kBad/kTooLarge/kUnsupported, `*err` says which
/// status to answer and why.
ParseState ParseRequest(std::string_view buf, const Limits& limits, HttpRequest* out,
                        size_t* consumed, ParseError* err);

/// "HTTP/1.<minor> <status> <reason>" with Content-Type, Content-Length and Connection: close.
std::string FormatResponse(const HttpResponse& r, int minor_version = 1);

/// A request as the client sends it (HTTP/1.1, Host, Content-Length, Connection: close).
std::string FormatRequest(std::string_view method, std::string_view path, std::string_view body);

/// Parses a whole response (the client reads until the server closes, or until Content-Length
/// bytes of body arrived). kIncomplete while more is needed; `at_eof` says nothing more comes.
ParseState ParseResponse(std::string_view buf, bool at_eof, HttpResponse* out);

/// "OK", "Not Found"... for the statuses berthd uses; "Error" otherwise.
std::string_view ReasonPhrase(int status);

}  // namespace berth::api
