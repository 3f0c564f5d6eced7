#include "etcd/transport.h"

namespace berth::etcd {
namespace {

size_t Collect(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

}  // namespace

std::string CurlRequest::Describe(CURLcode rc) const {
  return error[0] ? std::string(error) : std::string(Curl().easy_strerror(rc));
}

long CurlRequest::Status() const {
  long status = 0;
  Curl().easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &status);
  return status;
}

Result<std::unique_ptr<CurlRequest>> Transport::NewRequest(size_t index, std::string_view path,
                                                           std::string body,
                                                           bool streaming) const {
  auto r = std::make_unique<CurlRequest>();
  r->endpoint = options_.endpoints.at(index);
  r->easy.reset(Curl().easy_init());
  if (!r->easy) return Error::Internal("etcd: curl_easy_init failed");
  // "Expect:" off: no 100-continue round trip before a large body.
  curl_slist* h = Curl().slist_append(nullptr, "Content-Type: application/json");
  if (h) h = Curl().slist_append(h, "Expect:");
  if (!h) return Error::Internal("etcd: out of memory");
  r->headers.reset(h);
  r->body = std::move(body);

  CURL* c = r->easy.get();
  std::string url = r->endpoint + std::string(path);
  Curl().easy_setopt(c, CURLOPT_URL, url.c_str());  // curl copies strings it is given
  Curl().easy_setopt(c, CURLOPT_HTTPHEADER, r->headers.get());
  Curl().easy_setopt(c, CURLOPT_POSTFIELDS, r->body.data());
  Curl().easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r->body.size()));
  Curl().easy_setopt(c, CURLOPT_WRITEFUNCTION, Collect);
  Curl().easy_setopt(c, CURLOPT_WRITEDATA, &r->answer);
  Curl().easy_setopt(c, CURLOPT_ERRORBUFFER, r->error);
  // Threads: no SIGALRM for DNS timeouts. Etcd is reached directly, never through a proxy
  // from the environment ("" turns http_proxy and friends off).
  Curl().easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  Curl().easy_setopt(c, CURLOPT_PROXY, "");
  Curl().easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.timeout_ms));
  if (!streaming) Curl().easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_ms));
  // A watch may stay quiet for long: the kernel's keepalive probes notice a peer that is gone.
  Curl().easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  Curl().easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 10L);
  Curl().easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 5L);
  if (!options_.cacert.empty()) Curl().easy_setopt(c, CURLOPT_CAINFO, options_.cacert.c_str());
  if (!options_.cert.empty()) Curl().easy_setopt(c, CURLOPT_SSLCERT, options_.cert.c_str());
  if (!options_.key.empty()) Curl().easy_setopt(c, CURLOPT_SSLKEY, options_.key.c_str());
  return r;
}

Result<Transport::Answer> Transport::Post(std::string_view path, const std::string& body) {
  std::vector<std::string> failures;
  const size_t start = first();
  for (size_t k = 0; k < size(); ++k) {
    size_t i = (start + k) % size();
    BERTH_ASSIGN_OR_RETURN(auto req, NewRequest(i, path, body, /*streaming=*/false));
    CURLcode rc = Curl().easy_perform(req->easy.get());
    long status = req->Status();
    if (rc == CURLE_OK) {
      Answered(i);
      return Answer{status, std::move(req->answer)};
    }
    if (status != 0) {
      // etcd answered and the answer broke off: the request may have been applied, so it is
      // not sent again.
      Answered(i);
      return Error::Unavailable("etcd " + req->endpoint + std::string(path) +
                                ": answer cut off: " + req->Describe(rc));
    }
    failures.push_back(req->endpoint + ": " + req->Describe(rc));
  }
  return NoneAnswered(failures);
}

Error Transport::NoneAnswered(const std::vector<std::string>& failures) {
  std::string m = "no etcd endpoint answered (";
  for (size_t i = 0; i < failures.size(); ++i) m += (i ? "; " : "") + failures[i];
  return Error::Unavailable(m + ")");
}

}  // namespace berth::etcd
