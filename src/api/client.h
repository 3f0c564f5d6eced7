// The client half of berthd's API: one request per connection over the unix socket, with a
// deadline for the whole exchange. Thread-safe (no shared state).
//
// Errors: kUnavailable when nobody serves the socket (no file, connection refused) or the
// server did not answer in time or sent no valid response; the HTTP status otherwise lives in
// the returned response, for the caller to judge.
#pragma once

#include <string>
#include <string_view>

#include "api/http.h"
#include "core/error.h"
#include "sys/fd.h"

namespace berth::api {

/// Connects to the unix socket at `socket`; kUnavailable when nobody listens there.
Result<sys::Fd> Connect(const std::string& socket);

/// True when a server accepts connections at `socket` right now (a connect, nothing sent).
bool Answers(const std::string& socket);

/// Sends one request and reads the whole response, all within `timeout_ms`.
Result<HttpResponse> Request(const std::string& socket, std::string_view method,
                             std::string_view path, std::string_view body = {},
                             int timeout_ms = 3000);

/// Sends one request and closes without waiting for the answer (a notice that costs the caller
/// nothing: the server still acts on it).
Status Send(const std::string& socket, std::string_view method, std::string_view path,
            std::string_view body = {});

/// The body of a 200 response; anything else becomes an error "METHOD PATH: STATUS: body".
Result<std::string> BodyOf200(const HttpResponse& r, std::string_view what);

}  // namespace berth::api
