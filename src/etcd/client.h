// etcd::Client: etcd's v3 API (KV, Txn, leases, watch from a revision) over its JSON gateway
// (etcd 3.4: POST /v3/kv/range, /v3/kv/put, /v3/kv/deleterange, /v3/kv/txn, /v3/lease/grant,
// /v3/lease/keepalive, /v3/lease/revoke, /v3/watch; keys and values base64 in the JSON), with
// libcurl as the transport. Why not gRPC: see DESIGN.md "Cluster state".
//
// Every key a caller passes is relative to the client's prefix (default "/berth"): Get("nodes/a")
// reads "/berth/nodes/a", and keys in results have the prefix taken off again.
//
// Endpoint failover: a request that cannot reach one endpoint (refused, unresolved, TLS
// failed, or timed out before any of it was sent) is tried on the next; the endpoint that
// answered last is tried first next time. A request that was sent is never sent again (a txn
// or a grant is not idempotent): when no answer comes for it, the call fails with
// kUnavailable saying the outcome is unknown, and the caller reads back whether it happened.
//
// Errors: Code::kUnavailable when no endpoint answers, when a sent request got no answer, and
// for etcd's "no leader" and timeouts; Code::kInvalid for a request etcd refused; Watch
// reports a compacted start revision as Code::kNotFound with the message "compacted" and the
// revision compacted to (WatchEnd), so the caller re-lists and watches again.
//
// Thread-safety: one Client may be used by several threads at once (each call uses its own
// curl easy handle); Watch blocks its calling thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace berth::etcd {

struct Options {
  std::vector<std::string> endpoints;  // "http://198.18.0.254:2379", "https://..."
  std::string prefix = "/berth";
  std::string cacert, cert, key;       // TLS files; empty: none
  int timeout_ms = 2000;               // per request, per endpoint (not for Watch)
  /// Watch: kUnavailable once nothing at all (not even a progress notification) came for this
  /// long; 0: no bound. etcd 3.4 sends a progress notification on a quiet watch every 10
  /// minutes, so a bound above that notices an etcd that hangs with its connection open.
  int watch_idle_ms = 0;
};

/// "URL[,URL...]" -> endpoints; refuses an empty list or a URL without http(s)://.
Result<std::vector<std::string>> ParseEndpoints(std::string_view csv);

struct KeyValue {
  std::string key;     // without the client's prefix
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;
};

struct RangeResult {
  std::vector<KeyValue> kvs;
  int64_t revision = 0;  // the store's revision when this was read (watch from revision + 1)
};

/// One condition of a transaction (etcd's Compare).
struct Compare {
  enum class Target { kCreateRevision, kModRevision, kVersion, kValue };
  enum class Op { kEqual, kNotEqual, kGreater, kLess };
  std::string key;
  Target target = Target::kCreateRevision;
  Op op = Op::kEqual;
  int64_t number = 0;   // for the revision and version targets
  std::string value;    // for kValue

  /// The key does not exist (create_revision == 0): "put only if nobody holds it".
  static Compare Absent(std::string key);
  static Compare ValueIs(std::string key, std::string value);
  static Compare ModRevisionIs(std::string key, int64_t revision);
};

/// One request inside a transaction.
struct TxnOp {
  enum class Kind { kPut, kDelete, kGet };
  Kind kind = Kind::kGet;
  std::string key;
  std::string value;   // kPut
  int64_t lease = 0;   // kPut
  bool prefix = false; // kDelete/kGet: the key is a prefix

  static TxnOp Put(std::string key, std::string value, int64_t lease = 0);
  static TxnOp Delete(std::string key, bool prefix = false);
  static TxnOp Get(std::string key, bool prefix = false);
};

struct TxnResult {
  bool succeeded = false;
  int64_t revision = 0;
  /// One per kGet op of the branch that ran, in order.
  std::vector<RangeResult> gets;
};

struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // for kDelete: key and mod_revision only
};

/// How one Watch ended, beyond its Status: per call, so concurrent watches on one Client do
/// not overwrite each other's.
struct WatchEnd {
  int64_t compact_revision = 0;  // set when the Watch failed with "compacted"
};

class Client {
 public:
  static Result<std::unique_ptr<Client>> Open(Options options);
  ~Client();

  Result<RangeResult> Get(const std::string& key);
  Result<RangeResult> GetPrefix(const std::string& prefix);
  /// Returns the revision of the write.
  Result<int64_t> Put(const std::string& key, const std::string& value, int64_t lease = 0);
  /// Returns how many keys were deleted.
  Result<int64_t> Delete(const std::string& key, bool prefix = false);
  Result<TxnResult> Txn(const std::vector<Compare>& compares, const std::vector<TxnOp>& success,
                        const std::vector<TxnOp>& failure = {});

  /// A lease of ttl_seconds; returns its ID.
  Result<int64_t> Grant(int ttl_seconds);
  /// Refreshes the lease once; kNotFound when it has expired (grant a new one).
  Status KeepAlive(int64_t lease);
  Status Revoke(int64_t lease);

  /// Watches every key under prefix from revision from_revision (0: from now), calling
  /// on_events with each batch, in order, until stop becomes true (checked at least every
  /// 200 ms), the connection fails (kUnavailable), the member loses its leader (etcd cancels
  /// the watch: kUnavailable), nothing came for Options::watch_idle_ms (kUnavailable) or the
  /// revision was compacted (kNotFound, "compacted"; the revision compacted to in
  /// end->compact_revision). A connection that dies without a word is noticed by TCP
  /// keepalive probes (about a minute); etcd's progress notifications come only every 10
  /// minutes. on_events returns false to stop the watch (then Ok). `revision` is the
  /// mod_revision of the batch's last event: after a failure, watch again from revision + 1
  /// and nothing is lost.
  Status Watch(const std::string& prefix, int64_t from_revision,
               const std::function<bool(int64_t revision, const std::vector<WatchEvent>&)>&
                   on_events,
               const std::atomic<bool>& stop, WatchEnd* end = nullptr);
  /// Drops the history before `revision` (etcd's compaction; a Watch from an older revision
  /// then fails with "compacted").
  Status Compact(int64_t revision);

  /// The revision etcd compacted to, as the last Watch that failed with "compacted" saw it
  /// (with several watches at once, use each one's WatchEnd).
  int64_t CompactRevision() const;

  const Options& options() const;

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::etcd
