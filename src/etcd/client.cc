// Client: the KV, txn and lease calls, each one POST through the Transport; Watch is in watch.cc.
#include "etcd/client.h"

#include <utility>

#include "etcd/client_impl.h"

namespace berth::etcd {
namespace {

Status CheckEndpoint(std::string_view url) {
  for (std::string_view scheme : {"http://", "https://"})
    if (url.substr(0, scheme.size()) == scheme && url.size() > scheme.size()) return Ok();
  return Error::Invalid("etcd endpoint \"" + std::string(url) +
                        "\": want http://HOST:PORT or https://HOST:PORT");
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::vector<std::string>> ParseEndpoints(std::string_view csv) {
  std::vector<std::string> out;
  while (true) {
    size_t comma = csv.find(',');
    std::string_view url = Trim(csv.substr(0, comma));
    if (!url.empty()) {
      BERTH_TRY(CheckEndpoint(url));
      while (url.back() == '/') url.remove_suffix(1);  // paths are appended: "/v3/kv/range"
      out.emplace_back(url);
    }
    if (comma == std::string_view::npos) break;
    csv.remove_prefix(comma + 1);
  }
  if (out.empty()) return Error::Invalid("no etcd endpoints given");
  return out;
}

Compare Compare::Absent(std::string key) {
  return Compare{std::move(key), Target::kCreateRevision, Op::kEqual, 0, {}};
}

Compare Compare::ValueIs(std::string key, std::string value) {
  return Compare{std::move(key), Target::kValue, Op::kEqual, 0, std::move(value)};
}

Compare Compare::ModRevisionIs(std::string key, int64_t revision) {
  return Compare{std::move(key), Target::kModRevision, Op::kEqual, revision, {}};
}

TxnOp TxnOp::Put(std::string key, std::string value, int64_t lease) {
  return TxnOp{Kind::kPut, std::move(key), std::move(value), lease, false};
}

TxnOp TxnOp::Delete(std::string key, bool prefix) {
  return TxnOp{Kind::kDelete, std::move(key), {}, 0, prefix};
}

TxnOp TxnOp::Get(std::string key, bool prefix) {
  return TxnOp{Kind::kGet, std::move(key), {}, 0, prefix};
}

Result<std::string> Client::Impl::Call(std::string_view path, const codec::json& request) {
  BERTH_ASSIGN_OR_RETURN(auto answer, transport.Post(path, request.dump()));
  if (answer.status != 200) return codec::AnswerError(answer.status, answer.body);
  return std::move(answer.body);
}

Result<std::unique_ptr<Client>> Client::Open(Options options) {
  if (options.endpoints.empty()) return Error::Invalid("no etcd endpoints given");
  for (std::string& url : options.endpoints) {
    BERTH_TRY(CheckEndpoint(url));
    while (url.back() == '/') url.pop_back();
  }
  if (options.timeout_ms <= 0) return Error::Invalid("etcd timeout must be positive");
  BERTH_ASSIGN_OR_RETURN(const CurlApi* curl, LoadCurl());
  (void)curl;  // loaded: Curl() is valid from here on
  return std::unique_ptr<Client>(new Client(std::make_unique<Impl>(std::move(options))));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

const Options& Client::options() const { return impl_->options; }
int64_t Client::CompactRevision() const { return impl_->compact_revision.load(); }

Result<RangeResult> Client::Get(const std::string& key) {
  BERTH_ASSIGN_OR_RETURN(
      auto body, impl_->Call("/v3/kv/range", codec::RangeRequest(impl_->keys.Full(key), false)));
  return codec::DecodeRange(body, impl_->keys);
}

Result<RangeResult> Client::GetPrefix(const std::string& prefix) {
  BERTH_ASSIGN_OR_RETURN(
      auto body, impl_->Call("/v3/kv/range", codec::RangeRequest(impl_->keys.Full(prefix), true)));
  return codec::DecodeRange(body, impl_->keys);
}

Result<int64_t> Client::Put(const std::string& key, const std::string& value, int64_t lease) {
  BERTH_ASSIGN_OR_RETURN(
      auto body,
      impl_->Call("/v3/kv/put", codec::PutRequest(impl_->keys.Full(key), value, lease)));
  return codec::DecodeRevision(body);
}

Result<int64_t> Client::Delete(const std::string& key, bool prefix) {
  BERTH_ASSIGN_OR_RETURN(
      auto body,
      impl_->Call("/v3/kv/deleterange", codec::DeleteRequest(impl_->keys.Full(key), prefix)));
  return codec::DecodeDeleted(body);
}

Result<TxnResult> Client::Txn(const std::vector<Compare>& compares,
                              const std::vector<TxnOp>& success,
                              const std::vector<TxnOp>& failure) {
  BERTH_ASSIGN_OR_RETURN(
      auto body,
      impl_->Call("/v3/kv/txn", codec::TxnRequest(compares, success, failure, impl_->keys)));
  return codec::DecodeTxn(body, impl_->keys);
}

Result<int64_t> Client::Grant(int ttl_seconds) {
  if (ttl_seconds <= 0) return Error::Invalid("etcd lease TTL must be positive");
  BERTH_ASSIGN_OR_RETURN(auto body, impl_->Call("/v3/lease/grant", {{"TTL", ttl_seconds}}));
  return codec::DecodeGrant(body);
}

Status Client::KeepAlive(int64_t lease) {
  BERTH_ASSIGN_OR_RETURN(auto body,
                         impl_->Call("/v3/lease/keepalive", {{"ID", std::to_string(lease)}}));
  BERTH_ASSIGN_OR_RETURN(int64_t ttl, codec::DecodeKeepAlive(body));
  if (ttl <= 0) return Error::NotFound("etcd lease " + std::to_string(lease) + " has expired");
  return Ok();
}

Status Client::Revoke(int64_t lease) {
  BERTH_TRY(impl_->Call("/v3/lease/revoke", {{"ID", std::to_string(lease)}}));
  return Ok();
}

Status Client::Compact(int64_t revision) {
  BERTH_TRY(impl_->Call("/v3/kv/compaction", {{"revision", std::to_string(revision)}}));
  return Ok();
}

}  // namespace berth::etcd
