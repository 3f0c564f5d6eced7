// The HTTP side of the client: POSTs of JSON to etcd's gateway over libcurl, with endpoint
// failover. A request that gets no HTTP answer from one endpoint (refused, unreachable, timed
// out, TLS failed) goes to the next; once any endpoint has answered, with whatever status, the
// request is done: it is never sent twice (a txn is not idempotent). The endpoint that answered
// last is tried first.
//
// Thread-safe: every request has its own easy handle; the only shared state is the index of the
// last endpoint that answered (atomic).
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "etcd/client.h"
#include "etcd/curl.h"

namespace berth::etcd {

struct CurlEasyFree {
  void operator()(CURL* c) const { Curl().easy_cleanup(c); }
};
struct CurlSlistFree {
  void operator()(curl_slist* l) const { Curl().slist_free_all(l); }
};

/// One POST set up on an easy handle, with everything curl keeps a pointer to. Not movable
/// (curl holds pointers into it): owned through a unique_ptr.
struct CurlRequest {
  CurlRequest() = default;
  CurlRequest(const CurlRequest&) = delete;
  CurlRequest& operator=(const CurlRequest&) = delete;

  std::string endpoint;
  std::unique_ptr<CURL, CurlEasyFree> easy;
  std::unique_ptr<curl_slist, CurlSlistFree> headers;
  std::string body;    // posted
  std::string answer;  // what the default write callback collected
  char error[CURL_ERROR_SIZE] = {};

  /// curl's own words for `rc` (the error buffer when it has more to say).
  std::string Describe(CURLcode rc) const;
  /// The HTTP status of the answer; 0 when no answer came.
  long Status() const;
};

class Transport {
 public:
  explicit Transport(const Options& options) : options_(options) {}

  struct Answer {
    long status = 0;
    std::string body;
  };
  /// POSTs `body` to `path` ("/v3/kv/range"), failing over as described at the top. The answer
  /// may have any HTTP status. kUnavailable when no endpoint answered (each one named, with why).
  Result<Answer> Post(std::string_view path, const std::string& body);

  /// A request to endpoint `index` for the caller to perform itself (a watch, on a multi
  /// handle). timeout_ms bounds the connect, and the whole transfer unless `streaming`.
  Result<std::unique_ptr<CurlRequest>> NewRequest(size_t index, std::string_view path,
                                                  std::string body, bool streaming) const;

  /// The endpoint to try first: the one that answered last.
  size_t first() const { return last_answered_.load(std::memory_order_relaxed); }
  void Answered(size_t index) { last_answered_.store(index, std::memory_order_relaxed); }
  size_t size() const { return options_.endpoints.size(); }
  /// kUnavailable "no etcd endpoint answered (URL: why; ...)".
  static Error NoneAnswered(const std::vector<std::string>& failures);

 private:
  const Options& options_;  // the Client's, which owns this Transport
  std::atomic<size_t> last_answered_{0};
};

}  // namespace berth::etcd
