// The JSON of etcd's v3 gateway (grpc-gateway's protobuf JSON: proto field names, int64 as
// strings, zero values left out, bytes as base64), both ways. Pure: no I/O, so every message
// shape is tested without an etcd.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "etcd/client.h"
#include "etcd/keys.h"

namespace berth::etcd::codec {

using nlohmann::json;

// Requests. Keys are full keys (KeySpace::Full) except where a KeySpace is passed.
json RangeRequest(const std::string& key, bool prefix);
json PutRequest(const std::string& key, const std::string& value, int64_t lease);
json DeleteRequest(const std::string& key, bool prefix);
json TxnRequest(const std::vector<Compare>& compares, const std::vector<TxnOp>& success,
                const std::vector<TxnOp>& failure, const KeySpace& keys);
json WatchCreateRequest(const std::string& prefix, int64_t from_revision);

// Answers (the body of a 200). kInternal for JSON that is not the message expected.
Result<RangeResult> DecodeRange(std::string_view body, const KeySpace& keys);
/// header.revision: the revision a Put, a delete or a compaction left.
Result<int64_t> DecodeRevision(std::string_view body);
Result<int64_t> DecodeDeleted(std::string_view body);
Result<TxnResult> DecodeTxn(std::string_view body, const KeySpace& keys);
/// The lease's ID; kInvalid when etcd put an error in the answer.
Result<int64_t> DecodeGrant(std::string_view body);
/// The lease's remaining TTL after a keepalive; 0 when it had expired. etcd's error on the
/// stream: kUnavailable (kNotFound for NOT_FOUND).
Result<int64_t> DecodeKeepAlive(std::string_view body);

/// A request etcd refused (any HTTP status but 200; the body {"error","message","code"} with a
/// gRPC code): kNotFound for NOT_FOUND, kUnavailable for UNAVAILABLE and DEADLINE_EXCEEDED
/// (no leader, a timeout inside etcd), kInvalid otherwise.
Error AnswerError(long http_status, std::string_view body);

/// One message of a watch stream ({"result":{...}} or {"error":{...}}).
struct WatchMessage {
  bool created = false;
  bool canceled = false;
  int64_t compact_revision = 0;
  std::string cancel_reason;
  std::vector<WatchEvent> events;
  std::optional<Error> error;  // the stream broke on etcd's side
};
Result<WatchMessage> DecodeWatchMessage(std::string_view line, const KeySpace& keys);

}  // namespace berth::etcd::codec
