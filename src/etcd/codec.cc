#include "etcd/codec.h"

#include <charconv>
#include <stdexcept>
#include <utility>

#include "etcd/base64.h"

namespace berth::etcd::codec {
namespace {

// Decoding throws (nlohmann's exceptions, and these) and Guard turns that into an Error at the
// one edge, so each decoder reads as the message's shape.
struct BadMessage : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <typename F>
auto Guard(std::string_view body, F&& decode) -> Result<decltype(decode(json()))> {
  try {
    return decode(json::parse(body));
  } catch (const std::exception& e) {
    std::string shown(body.substr(0, 200));
    return Error::Internal(std::string("etcd: undecodable answer (") + e.what() + "): " + shown);
  }
}

// protobuf JSON writes int64 as a string; a number is accepted too. Absent: the zero value.
int64_t Int(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  const std::string& s = it->get_ref<const std::string&>();
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size())
    throw BadMessage(std::string(name) + " is not an integer: " + s);
  return v;
}

std::string Bytes(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return {};
  auto decoded = Base64Decode(it->get_ref<const std::string&>());
  if (!decoded) throw BadMessage(std::string(name) + " is not base64");
  return *std::move(decoded);
}

int64_t HeaderRevision(const json& msg) {
  auto it = msg.find("header");
  return it == msg.end() ? 0 : Int(*it, "revision");
}

KeyValue Kv(const json& j, const KeySpace& keys) {
  KeyValue kv;
  kv.key = keys.Strip(Bytes(j, "key"));
  kv.value = Bytes(j, "value");
  kv.create_revision = Int(j, "create_revision");
  kv.mod_revision = Int(j, "mod_revision");
  kv.version = Int(j, "version");
  kv.lease = Int(j, "lease");
  return kv;
}

RangeResult Range(const json& j, const KeySpace& keys, int64_t revision) {
  RangeResult r;
  r.revision = HeaderRevision(j);
  if (r.revision == 0) r.revision = revision;  // inside a txn, the header may be left out
  if (auto it = j.find("kvs"); it != j.end())
    for (const json& kv : *it) r.kvs.push_back(Kv(kv, keys));
  return r;
}

json WithRange(json req, const std::string& key, bool prefix) {
  req["key"] = Base64Encode(key);
  if (prefix) req["range_end"] = Base64Encode(PrefixEnd(key));
  return req;
}

const char* CompareResult(Compare::Op op) {
  switch (op) {
    case Compare::Op::kEqual: return "EQUAL";
    case Compare::Op::kNotEqual: return "NOT_EQUAL";
    case Compare::Op::kGreater: return "GREATER";
    case Compare::Op::kLess: return "LESS";
  }
  return "EQUAL";
}

json CompareJson(const Compare& c, const KeySpace& keys) {
  json j = {{"key", Base64Encode(keys.Full(c.key))}, {"result", CompareResult(c.op)}};
  std::string n = std::to_string(c.number);
  switch (c.target) {
    case Compare::Target::kCreateRevision:
      j["target"] = "CREATE";
      j["create_revision"] = n;
      break;
    case Compare::Target::kModRevision:
      j["target"] = "MOD";
      j["mod_revision"] = n;
      break;
    case Compare::Target::kVersion:
      j["target"] = "VERSION";
      j["version"] = n;
      break;
    case Compare::Target::kValue:
      j["target"] = "VALUE";
      j["value"] = Base64Encode(c.value);
      break;
  }
  return j;
}

json OpJson(const TxnOp& op, const KeySpace& keys) {
  std::string key = keys.Full(op.key);
  switch (op.kind) {
    case TxnOp::Kind::kPut: return {{"request_put", PutRequest(key, op.value, op.lease)}};
    case TxnOp::Kind::kDelete:
      return {{"request_delete_range", DeleteRequest(key, op.prefix)}};
    case TxnOp::Kind::kGet: break;
  }
  return {{"request_range", RangeRequest(key, op.prefix)}};
}

json Ops(const std::vector<TxnOp>& ops, const KeySpace& keys) {
  json a = json::array();
  for (const TxnOp& op : ops) a.push_back(OpJson(op, keys));
  return a;
}

}  // namespace

json RangeRequest(const std::string& key, bool prefix) {
  return WithRange(json::object(), key, prefix);
}

json PutRequest(const std::string& key, const std::string& value, int64_t lease) {
  json req = {{"key", Base64Encode(key)}, {"value", Base64Encode(value)}};
  if (lease != 0) req["lease"] = std::to_string(lease);
  return req;
}

json DeleteRequest(const std::string& key, bool prefix) {
  return WithRange(json::object(), key, prefix);
}

json TxnRequest(const std::vector<Compare>& compares, const std::vector<TxnOp>& success,
                const std::vector<TxnOp>& failure, const KeySpace& keys) {
  json cmp = json::array();
  for (const Compare& c : compares) cmp.push_back(CompareJson(c, keys));
  return {{"compare", cmp}, {"success", Ops(success, keys)}, {"failure", Ops(failure, keys)}};
}

json WatchCreateRequest(const std::string& prefix, int64_t from_revision) {
  // progress_notify: etcd sends an empty message on a quiet watch (every 10 minutes in etcd
  // 3.4), which Options::watch_idle_ms can count on.
  json create = WithRange({{"progress_notify", true}}, prefix, true);
  if (from_revision > 0) create["start_revision"] = std::to_string(from_revision);
  return {{"create_request", create}};
}

Result<RangeResult> DecodeRange(std::string_view body, const KeySpace& keys) {
  return Guard(body, [&](const json& j) { return Range(j, keys, 0); });
}

Result<int64_t> DecodeRevision(std::string_view body) {
  return Guard(body, [](const json& j) { return HeaderRevision(j); });
}

Result<int64_t> DecodeDeleted(std::string_view body) {
  return Guard(body, [](const json& j) { return Int(j, "deleted"); });
}

Result<TxnResult> DecodeTxn(std::string_view body, const KeySpace& keys) {
  return Guard(body, [&](const json& j) {
    TxnResult t;
    t.succeeded = j.value("succeeded", false);
    t.revision = HeaderRevision(j);
    if (auto it = j.find("responses"); it != j.end())
      for (const json& r : *it)
        if (auto range = r.find("response_range"); range != r.end())
          t.gets.push_back(Range(*range, keys, t.revision));
    return t;
  });
}

Result<int64_t> DecodeGrant(std::string_view body) {
  auto r = Guard(body, [](const json& j) {
    return std::pair<int64_t, std::string>(Int(j, "ID"), j.value("error", ""));
  });
  if (!r.ok()) return std::move(r).error();
  if (!r->second.empty()) return Error::Invalid("etcd: grant lease: " + r->second);
  return r->first;
}

Result<int64_t> DecodeKeepAlive(std::string_view body) {
  // A streaming call: the answer is wrapped as {"result":{...}}, or {"error":{...}} with HTTP
  // 200 when etcd could not renew (no leader, a timeout inside etcd): a passing state, not a
  // broken message, so the lease loop tries again rather than giving up.
  auto r = Guard(body, [](const json& j) -> std::pair<int64_t, std::optional<json>> {
    if (auto e = j.find("error"); e != j.end()) return {0, *e};
    return {Int(j.at("result"), "TTL"), std::nullopt};
  });
  if (!r.ok()) return std::move(r).error();
  if (!r->second) return r->first;
  const json& e = *r->second;
  std::string what = e.is_object() ? e.value("message", e.dump()) : e.dump();
  if (e.is_object() && e.value("grpc_code", 0) == 5)  // NOT_FOUND: the lease is gone
    return Error::NotFound("etcd: keepalive: " + what);
  return Error::Unavailable("etcd: keepalive: " + what);
}

Error AnswerError(long http_status, std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("code")) {
    return Error::Invalid("etcd answered HTTP " + std::to_string(http_status) + ": " +
                          std::string(body.substr(0, 200)));
  }
  int code = j["code"].is_number() ? j["code"].get<int>() : -1;
  std::string message = "etcd: ";
  message += j.contains("message") && j["message"].is_string()
                 ? j["message"].get<std::string>()
                 : j.value("error", std::string("HTTP ") + std::to_string(http_status));
  // gRPC status codes: 4 DEADLINE_EXCEEDED, 5 NOT_FOUND, 14 UNAVAILABLE.
  if (code == 5) return Error::NotFound(std::move(message));
  if (code == 4 || code == 14) return Error::Unavailable(std::move(message));
  return Error::Invalid(std::move(message));
}

Result<WatchMessage> DecodeWatchMessage(std::string_view line, const KeySpace& keys) {
  return Guard(line, [&](const json& j) {
    WatchMessage m;
    if (auto e = j.find("error"); e != j.end()) {
      std::string what = e->is_object() ? e->value("message", e->dump()) : e->dump();
      m.error = Error::Unavailable("etcd: watch: " + what);
      return m;
    }
    const json& r = j.at("result");
    m.created = r.value("created", false);
    m.canceled = r.value("canceled", false);
    m.compact_revision = Int(r, "compact_revision");
    m.cancel_reason = r.value("cancel_reason", "");
    if (auto it = r.find("events"); it != r.end()) {
      for (const json& e : *it) {
        WatchEvent ev;
        ev.type = e.value("type", "PUT") == "DELETE" ? WatchEvent::Type::kDelete
                                                     : WatchEvent::Type::kPut;
        if (auto kv = e.find("kv"); kv != e.end()) ev.kv = Kv(*kv, keys);
        m.events.push_back(std::move(ev));
      }
    }
    return m;
  });
}

}  // namespace berth::etcd::codec
