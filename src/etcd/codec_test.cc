// The gateway's JSON both ways, and the key prefix, without an etcd (client_test.cc runs one).
#include "etcd/codec.h"

#include <gtest/gtest.h>

#include "etcd/base64.h"
#include "etcd/keys.h"

namespace berth::etcd {
namespace {

using codec::json;

TEST(EtcdKeys, PrefixIsJoinedWithOneSlashAndStripped) {
  for (const char* prefix : {"/berth", "/berth/"}) {
    KeySpace ks(prefix);
    EXPECT_EQ(ks.Full("nodes/a"), "/berth/nodes/a");
    EXPECT_EQ(ks.Strip("/berth/nodes/a"), "nodes/a");
  }
  EXPECT_EQ(KeySpace("").Full("x"), "x");
  EXPECT_EQ(KeySpace("/berth").Strip("/other"), "/other");
}

TEST(EtcdKeys, PrefixEndIncrementsTheLastByteThatCan) {
  EXPECT_EQ(PrefixEnd("/berth/"), "/berth0");
  EXPECT_EQ(PrefixEnd("a\xff"), "b");
  EXPECT_EQ(PrefixEnd("\xff\xff"), std::string(1, '\0'));
  EXPECT_EQ(PrefixEnd(""), std::string(1, '\0'));
}

TEST(EtcdCodec, RangeAndPutRequestsCarryBase64) {
  EXPECT_EQ(codec::RangeRequest("foo", false), (json{{"key", "Zm9v"}}));
  EXPECT_EQ(codec::RangeRequest("foo", true), (json{{"key", "Zm9v"}, {"range_end", "Zm9w"}}));
  EXPECT_EQ(codec::PutRequest("foo", "bar", 7),
            (json{{"key", "Zm9v"}, {"value", "YmFy"}, {"lease", "7"}}));
  EXPECT_FALSE(codec::PutRequest("foo", "bar", 0).contains("lease"));
}

TEST(EtcdCodec, TxnRequestHasEtcdsCompareAndOpShapes) {
  KeySpace ks("/p");
  json t = codec::TxnRequest(
      {Compare::Absent("a"), Compare::ValueIs("b", "v"), Compare::ModRevisionIs("c", 9)},
      {TxnOp::Put("a", "1", 5)}, {TxnOp::Get("d", true), TxnOp::Delete("e")}, ks);
  EXPECT_EQ(t["compare"][0], (json{{"key", Base64Encode("/p/a")}, {"result", "EQUAL"},
                                   {"target", "CREATE"}, {"create_revision", "0"}}));
  EXPECT_EQ(t["compare"][1]["target"], "VALUE");
  EXPECT_EQ(t["compare"][1]["value"], Base64Encode("v"));
  EXPECT_EQ(t["compare"][2]["target"], "MOD");
  EXPECT_EQ(t["compare"][2]["mod_revision"], "9");
  EXPECT_EQ(t["success"][0]["request_put"]["lease"], "5");
  EXPECT_EQ(t["failure"][0]["request_range"]["range_end"], Base64Encode("/p/e"));
  EXPECT_EQ(t["failure"][1]["request_delete_range"], (json{{"key", Base64Encode("/p/e")}}));
}

TEST(EtcdCodec, DecodesARangeWithInt64AsStrings) {
  // As etcd 3.4 answers: int64 as strings, zero values (lease, an empty value) left out.
  std::string body = R"({"header":{"revision":"12"},"kvs":[)"
                     R"({"key":")" + Base64Encode("/p/a") +
                     R"(","create_revision":"3","mod_revision":"11","version":"2","value":"eA=="},)"
                     R"({"key":")" + Base64Encode("/p/b") + R"(","lease":"42"}],"count":"2"})";
  auto r = codec::DecodeRange(body, KeySpace("/p"));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->revision, 12);
  ASSERT_EQ(r->kvs.size(), 2u);
  EXPECT_EQ(r->kvs[0].key, "a");
  EXPECT_EQ(r->kvs[0].value, "x");
  EXPECT_EQ(r->kvs[0].create_revision, 3);
  EXPECT_EQ(r->kvs[0].mod_revision, 11);
  EXPECT_EQ(r->kvs[0].version, 2);
  EXPECT_EQ(r->kvs[1].value, "");
  EXPECT_EQ(r->kvs[1].lease, 42);
}

TEST(EtcdCodec, UndecodableAnswersAreInternalErrors) {
  KeySpace ks("/p");
  for (const char* bad : {"not json", R"({"header":{"revision":"x"}})",
                          R"({"kvs":[{"key":"!!"}]})"}) {
    auto r = codec::DecodeRange(bad, ks);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), Code::kInternal);
  }
}

TEST(EtcdCodec, KeepAliveErrorsOnTheStreamAreUnavailable) {
  // A leader election: etcd answers HTTP 200 with the stream's error. The lease loop must retry.
  auto no_leader = codec::DecodeKeepAlive(
      R"({"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader"}})");
  ASSERT_FALSE(no_leader.ok());
  EXPECT_EQ(no_leader.error().code(), Code::kUnavailable);
  EXPECT_EQ(no_leader.error().message(), "etcd: keepalive: etcdserver: no leader");
  auto gone = codec::DecodeKeepAlive(
      R"({"error":{"grpc_code":5,"message":"etcdserver: requested lease not found"}})");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code(), Code::kNotFound);
  EXPECT_EQ(*codec::DecodeKeepAlive(R"({"result":{"ID":"7","TTL":"30"}})"), 30);
  EXPECT_EQ(codec::DecodeKeepAlive("nope").error().code(), Code::kInternal);
}

TEST(EtcdCodec, DecodesATxnsGetsOfTheBranchThatRan) {
  std::string body = R"({"header":{"revision":"5"},"responses":[{"response_put":{}},)"
                     R"({"response_range":{"header":{"revision":"5"},"kvs":[{"key":")" +
                     Base64Encode("/p/k") + R"(","value":"dg=="}]}}]})";
  auto t = codec::DecodeTxn(body, KeySpace("/p"));
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_FALSE(t->succeeded);  // left out when false
  EXPECT_EQ(t->revision, 5);
  ASSERT_EQ(t->gets.size(), 1u);
  EXPECT_EQ(t->gets[0].kvs.at(0).key, "k");
  EXPECT_EQ(t->gets[0].kvs.at(0).value, "v");
}

TEST(EtcdCodec, RefusalsMapGrpcCodes) {
  auto e = codec::AnswerError(404, R"({"error":"etcdserver: requested lease not found",)"
                                   R"("message":"etcdserver: requested lease not found","code":5})");
  EXPECT_EQ(e.code(), Code::kNotFound);
  EXPECT_EQ(e.message(), "etcd: etcdserver: requested lease not found");
  EXPECT_EQ(codec::AnswerError(503, R"({"message":"no leader","code":14})").code(),
            Code::kUnavailable);
  EXPECT_EQ(codec::AnswerError(400, R"({"message":"key is not provided","code":3})").code(),
            Code::kInvalid);
  EXPECT_EQ(codec::AnswerError(502, "Bad Gateway").code(), Code::kInvalid);
}

TEST(EtcdCodec, WatchMessages) {
  KeySpace ks("/p");
  auto created = codec::DecodeWatchMessage(R"({"result":{"header":{},"created":true}})", ks);
  ASSERT_TRUE(created.ok());
  EXPECT_TRUE(created->created);
  auto compacted = codec::DecodeWatchMessage(
      R"({"result":{"header":{},"canceled":true,"compact_revision":"7"}})", ks);
  ASSERT_TRUE(compacted.ok());
  EXPECT_TRUE(compacted->canceled);
  EXPECT_EQ(compacted->compact_revision, 7);
  auto events = codec::DecodeWatchMessage(
      R"({"result":{"events":[{"kv":{"key":")" + Base64Encode("/p/a") +
          R"(","mod_revision":"3","value":"MQ=="}},{"type":"DELETE","kv":{"key":")" +
          Base64Encode("/p/a") + R"(","mod_revision":"4"}}]}})",
      ks);
  ASSERT_TRUE(events.ok()) << events.error().message();
  ASSERT_EQ(events->events.size(), 2u);
  EXPECT_EQ(events->events[0].type, WatchEvent::Type::kPut);
  EXPECT_EQ(events->events[0].kv.value, "1");
  EXPECT_EQ(events->events[1].type, WatchEvent::Type::kDelete);
  EXPECT_EQ(events->events[1].kv.key, "a");
  EXPECT_EQ(events->events[1].kv.mod_revision, 4);
  auto broken = codec::DecodeWatchMessage(R"({"error":{"grpc_code":14,"message":"gone"}})", ks);
  ASSERT_TRUE(broken.ok());
  ASSERT_TRUE(broken->error.has_value());
  EXPECT_EQ(broken->error->code(), Code::kUnavailable);
}

TEST(EtcdCodec, WatchCreateAsksForProgressAndAPrefix) {
  json w = codec::WatchCreateRequest("/p/", 9)["create_request"];
  EXPECT_EQ(w["key"], Base64Encode("/p/"));
  EXPECT_EQ(w["range_end"], Base64Encode("/p0"));
  EXPECT_EQ(w["start_revision"], "9");
  EXPECT_EQ(w["progress_notify"], true);
  EXPECT_FALSE(codec::WatchCreateRequest("/p/", 0)["create_request"].contains("start_revision"));
}

}  // namespace
}  // namespace berth::etcd
