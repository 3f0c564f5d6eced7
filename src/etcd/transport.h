// The HTTP side of the client: POSTs of JSON to etcd's gateway over libcurl, with endpoint
// failover. A request that never left this host (connection refused, name not resolved, TLS
// handshake failed, or a timeout before one byte of it was written) goes to the next endpoint.
// A request that was sent is never sent again, whatever happened next (a txn or a lease grant
// is not idempotent): an answer with any HTTP status is returned, and no answer (a timeout, the
// connection closed or reset after the request went out) is kUnavailable saying the outcome is
// unknown, for the caller to read back what happened. The endpoint that answered last is tried
// first.
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
  /// Bytes of the request written so far (CURLINFO_REQUEST_SIZE); 0: etcd got nothing.
  long RequestSize() const;
};

class Transport {
 public:
  explicit Transport(const Options& options) : options_(options) {}

  struct Answer {
    long status = 0;
    std::string body;
  };
  /// POSTs `body` to `path` ("/v3/kv/range"), failing over as described at the top. The answer
  /// may have any HTTP status. kUnavailable when no endpoint answered (each one named, with why)
  /// and when one got the request and did not answer (the outcome is unknown).
  Result<Answer> Post(std::string_view path, const std::string& body);

  /// A request to endpoint `index` for the caller to perform itself (a watch, on a multi
  /// handle). timeout_ms bounds the connect, and the whole transfer unless `streaming`; a
  /// streaming request asks for a member with a leader (Grpc-Metadata-hasleader).
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
