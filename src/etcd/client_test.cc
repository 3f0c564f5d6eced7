// The client against a real etcd (testing_util::TestEtcd, one per test suite).
#include "etcd/client.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdio>
#include <chrono>
#include <thread>
#include <vector>

#include "etcd/test_etcd.h"

namespace berth::etcd {
namespace {

using Clock = std::chrono::steady_clock;
using testing_util::TestEtcd;

long MsSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

class EtcdClientTest : public testing_util::SharedEtcdTest {
 protected:
  static std::string ClosedEndpoint() {
    return "http://127.0.0.1:" + std::to_string(testing_util::FreePort());
  }
};

TEST(EtcdParseEndpoints, SplitsAndRefuses) {
  auto ok = ParseEndpoints(" http://198.18.0.254:2379/ ,https://h:2379");
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_EQ(*ok, (std::vector<std::string>{"http://198.18.0.254:2379", "https://h:2379"}));
  for (const char* bad : {"", " , ", "198.18.0.254:2379", "http://a,ftp://b", "http://"}) {
    auto r = ParseEndpoints(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), Code::kInvalid);
  }
}

TEST(EtcdOpen, RefusesBadOptions) {
  Options none;
  EXPECT_EQ(Client::Open(none).error().code(), Code::kInvalid);
  Options bad;
  bad.endpoints = {"127.0.0.1:2379"};
  EXPECT_EQ(Client::Open(bad).error().code(), Code::kInvalid);
}

TEST_F(EtcdClientTest, PutGetPrefixDeleteUnderThePrefix) {
  auto c = Open();
  auto rev = c->Put("nodes/a", "1");
  ASSERT_TRUE(rev.ok()) << rev.error().message();
  ASSERT_TRUE(c->Put("nodes/b", std::string("\0\xff", 2)).ok());
  ASSERT_TRUE(c->Put("other", "x").ok());

  auto a = c->Get("nodes/a");
  ASSERT_TRUE(a.ok()) << a.error().message();
  ASSERT_EQ(a->kvs.size(), 1u);
  EXPECT_EQ(a->kvs[0].key, "nodes/a");
  EXPECT_EQ(a->kvs[0].value, "1");
  EXPECT_EQ(a->kvs[0].mod_revision, *rev);
  EXPECT_EQ(a->kvs[0].version, 1);
  EXPECT_GE(a->revision, *rev + 2);
  EXPECT_TRUE(c->Get("nodes/none")->kvs.empty());

  auto nodes = c->GetPrefix("nodes/");
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->kvs.size(), 2u);
  EXPECT_EQ(nodes->kvs[1].key, "nodes/b");
  EXPECT_EQ(nodes->kvs[1].value, std::string("\0\xff", 2));

  // Where the keys really are: under "<prefix>/", seen by a client without a prefix.
  Options raw;
  raw.endpoints = {etcd_->endpoint()};
  raw.prefix = "";
  auto rc = Client::Open(raw);
  ASSERT_TRUE(rc.ok());
  auto all = (*rc)->GetPrefix(c->options().prefix + "/");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->kvs.size(), 3u);
  EXPECT_EQ(all->kvs[0].key, c->options().prefix + "/nodes/a");

  auto deleted = c->Delete("nodes/", /*prefix=*/true);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 2);
  EXPECT_EQ(*c->Delete("nodes/a"), 0);
  EXPECT_TRUE(c->GetPrefix("nodes/")->kvs.empty());
  EXPECT_EQ(c->GetPrefix("")->kvs.size(), 1u);

  // etcd refuses an empty key: kInvalid.
  auto empty = (*rc)->Put("", "x");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code(), Code::kInvalid) << empty.error().message();
}

TEST_F(EtcdClientTest, TxnAbsentSucceedsForExactlyOneOfManyRacers) {
  auto c1 = Open(), c2 = Open();
  std::atomic<int> won{0};
  std::vector<std::string> seen(20);
  std::vector<std::thread> racers;
  for (int i = 0; i < 20; ++i) {
    racers.emplace_back([&, i] {
      Client& c = i % 2 ? *c1 : *c2;
      auto t = c.Txn({Compare::Absent("lock")}, {TxnOp::Put("lock", std::to_string(i))},
                     {TxnOp::Get("lock")});
      ASSERT_TRUE(t.ok()) << t.error().message();
      if (t->succeeded) {
        ++won;
        seen[i] = std::to_string(i);
      } else {
        ASSERT_EQ(t->gets.size(), 1u);
        ASSERT_EQ(t->gets[0].kvs.size(), 1u);
        seen[i] = t->gets[0].kvs[0].value;
      }
    });
  }
  for (auto& t : racers) t.join();
  EXPECT_EQ(won.load(), 1);
  auto holder = c1->Get("lock");
  ASSERT_TRUE(holder.ok());
  for (const std::string& s : seen) EXPECT_EQ(s, holder->kvs.at(0).value);
}

TEST_F(EtcdClientTest, TxnComparesValueAndModRevision) {
  auto c = Open();
  int64_t rev = *c->Put("k", "v1");
  auto wrong = c->Txn({Compare::ValueIs("k", "other")}, {TxnOp::Put("k", "no")},
                      {TxnOp::Get("k"), TxnOp::Get("", true)});
  ASSERT_TRUE(wrong.ok());
  EXPECT_FALSE(wrong->succeeded);
  ASSERT_EQ(wrong->gets.size(), 2u);
  EXPECT_EQ(wrong->gets[1].kvs.at(0).key, "k");
  auto right = c->Txn({Compare::ValueIs("k", "v1"), Compare::ModRevisionIs("k", rev)},
                      {TxnOp::Put("k", "v2"), TxnOp::Delete("gone")});
  ASSERT_TRUE(right.ok());
  EXPECT_TRUE(right->succeeded);
  EXPECT_GT(right->revision, rev);
  EXPECT_TRUE(right->gets.empty());
  EXPECT_EQ(c->Get("k")->kvs.at(0).value, "v2");
  EXPECT_FALSE(c->Txn({Compare::ModRevisionIs("k", rev)}, {TxnOp::Put("k", "v3")})->succeeded);
}

TEST_F(EtcdClientTest, LeaseKeepsAKeyUntilItExpiresOrIsRevoked) {
  auto c = Open();
  auto lease = c->Grant(1);
  ASSERT_TRUE(lease.ok()) << lease.error().message();
  ASSERT_TRUE(c->Put("alive", "1", *lease).ok());
  EXPECT_EQ(c->Get("alive")->kvs.at(0).lease, *lease);
  EXPECT_TRUE(c->KeepAlive(*lease).ok());

  auto start = Clock::now();
  while (!c->Get("alive")->kvs.empty() && MsSince(start) < 5000)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(c->Get("alive")->kvs.empty()) << "the key outlived its 1 s lease";
  auto expired = c->KeepAlive(*lease);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().code(), Code::kNotFound);

  auto second = c->Grant(30);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(c->Put("held", "1", *second).ok());
  EXPECT_TRUE(c->Revoke(*second).ok());
  EXPECT_TRUE(c->Get("held")->kvs.empty());
  EXPECT_EQ(c->Revoke(*second).error().code(), Code::kNotFound);
  // A put on a lease that is gone is refused.
  EXPECT_EQ(c->Put("held", "1", *second).error().code(), Code::kNotFound);
}

TEST_F(EtcdClientTest, WatchFromARevisionSeesPutsAndDeletesInOrder) {
  auto c = Open();
  int64_t first = *c->Put("w/a", "1");
  ASSERT_TRUE(c->Put("w/b", "2").ok());
  ASSERT_TRUE(c->Put("elsewhere", "x").ok());
  ASSERT_TRUE(c->Delete("w/a").ok());

  // Then live: a put that happens while the watch runs.
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    (void)c->Put("w/c", "3");
  });
  std::vector<WatchEvent> events;
  int64_t last_revision = 0;
  Status st = c->Watch("w/", first,
                       [&](int64_t revision, const std::vector<WatchEvent>& batch) {
                         EXPECT_GT(revision, last_revision);
                         last_revision = revision;
                         events.insert(events.end(), batch.begin(), batch.end());
                         return events.size() < 4;
                       },
                       stop);
  writer.join();
  ASSERT_TRUE(st.ok()) << st.error().message();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].type, WatchEvent::Type::kPut);
  EXPECT_EQ(events[0].kv.key, "w/a");
  EXPECT_EQ(events[0].kv.value, "1");
  EXPECT_EQ(events[0].kv.mod_revision, first);
  EXPECT_EQ(events[1].kv.key, "w/b");
  EXPECT_EQ(events[2].type, WatchEvent::Type::kDelete);
  EXPECT_EQ(events[2].kv.key, "w/a");
  EXPECT_EQ(events[3].kv.key, "w/c");
  EXPECT_EQ(events[3].kv.value, "3");
  EXPECT_EQ(last_revision, events[3].kv.mod_revision);
}

TEST_F(EtcdClientTest, WatchFromACompactedRevisionSaysCompacted) {
  auto c = Open();
  int64_t first = *c->Put("c/a", "1");
  int64_t last = *c->Put("c/a", "2");
  ASSERT_TRUE(c->Compact(last).ok());
  std::atomic<bool> stop{false};
  bool called = false;
  WatchEnd end;
  Status st = c->Watch("c/", first, [&](int64_t, const std::vector<WatchEvent>&) {
    called = true;
    return true;
  }, stop, &end);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kNotFound);
  EXPECT_EQ(st.error().message(), "compacted");
  EXPECT_EQ(end.compact_revision, last);
  EXPECT_EQ(c->CompactRevision(), last);
  EXPECT_FALSE(called);

  // A second watch that sees a later compaction leaves the first one's revision alone.
  int64_t later = *c->Put("c/a", "3");
  ASSERT_TRUE(c->Compact(later).ok());
  WatchEnd second;
  st = c->Watch("c/", first, [](int64_t, const std::vector<WatchEvent>&) { return true; }, stop,
                &second);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(second.compact_revision, later);
  EXPECT_EQ(end.compact_revision, last);
}

TEST_F(EtcdClientTest, StopEndsAQuietWatchQuickly) {
  auto c = Open();
  std::atomic<bool> stop{false};
  Clock::time_point stopped_at;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    stopped_at = Clock::now();
    stop = true;
  });
  Status st = c->Watch("quiet/", 0, [](int64_t, const std::vector<WatchEvent>&) { return true; },
                       stop);
  long late = MsSince(stopped_at);
  stopper.join();
  EXPECT_TRUE(st.ok()) << st.error().message();
  EXPECT_LT(late, 250);
}

TEST_F(EtcdClientTest, ADeadFirstEndpointFailsOverToTheNext) {
  auto c = Open({ClosedEndpoint(), etcd_->endpoint()});
  auto rev = c->Put("k", "v");
  ASSERT_TRUE(rev.ok()) << rev.error().message();
  EXPECT_EQ(c->Get("k")->kvs.at(0).value, "v");

  auto w = Open({ClosedEndpoint(), etcd_->endpoint()});
  std::atomic<bool> stop{false};
  std::vector<WatchEvent> got;
  Status st = w->Watch("", *rev, [&](int64_t, const std::vector<WatchEvent>& batch) {
    got = batch;
    return false;
  }, stop);
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_EQ(got.at(0).kv.key, "k");
}

TEST_F(EtcdClientTest, NoEndpointAnsweringIsUnavailableWithinTheTimeout) {
  int silent_port = 0;
  sys::Fd silent = testing_util::SilentListener(&silent_port);
  ASSERT_TRUE(silent.valid());
  std::string closed = ClosedEndpoint();
  std::string hung = "http://127.0.0.1:" + std::to_string(silent_port);
  auto c = Open({closed, hung}, /*timeout_ms=*/300);

  auto start = Clock::now();
  auto r = c->Get("k");
  long took = MsSince(start);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kUnavailable);
  EXPECT_NE(r.error().message().find(closed), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find(hung), std::string::npos) << r.error().message();
  EXPECT_GE(took, 250);
  EXPECT_LT(took, 1000);

  std::atomic<bool> stop{false};
  start = Clock::now();
  Status st = c->Watch("", 0, [](int64_t, const std::vector<WatchEvent>&) { return true; }, stop);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kUnavailable) << st.error().message();
  EXPECT_LT(MsSince(start), 1000);
}

TEST_F(EtcdClientTest, ARequestThatGotAnAnswerIsNotSentAgain) {
  // A first endpoint that answers 503 once: the put must not go on to etcd.
  int port = 0;
  sys::Fd listener = testing_util::SilentListener(&port);
  ASSERT_TRUE(listener.valid());
  std::thread server([&] {
    sys::Fd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    char buf[4096];
    (void)::recv(conn.get(), buf, sizeof buf, 0);
    std::string body = R"({"error":"no leader","message":"no leader","code":14})";
    std::string answer = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                         "Content-Length: " + std::to_string(body.size()) +
                         "\r\nConnection: close\r\n\r\n" + body;
    (void)::send(conn.get(), answer.data(), answer.size(), MSG_NOSIGNAL);
  });
  auto c = Open({"http://127.0.0.1:" + std::to_string(port), etcd_->endpoint()});
  auto put = c->Put("once", "v");
  server.join();
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().code(), Code::kUnavailable);
  EXPECT_EQ(put.error().message(), "etcd: no leader");
  EXPECT_TRUE(Open()->Get("once")->kvs.empty());
}

// Sent, then no answer: etcd may have applied it, so it must not go to the next endpoint (a
// txn resent there would find its own put and report failure; a grant would leak a lease).
TEST_F(EtcdClientTest, ASentRequestWithoutAnAnswerIsNotSentAgain) {
  // An endpoint that reads the request and closes the connection without a word.
  int port = 0;
  sys::Fd listener = testing_util::SilentListener(&port);
  ASSERT_TRUE(listener.valid());
  std::thread server([&] {
    sys::Fd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    char buf[4096];
    (void)::recv(conn.get(), buf, sizeof buf, 0);
  });
  auto c = Open({"http://127.0.0.1:" + std::to_string(port), etcd_->endpoint()});
  auto put = c->Put("closed", "v");
  server.join();
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().code(), Code::kUnavailable);
  EXPECT_NE(put.error().message().find("outcome is unknown"), std::string::npos)
      << put.error().message();
  EXPECT_TRUE(Open()->Get("closed")->kvs.empty());

  // An endpoint that takes the request and never answers: the timeout is no reason either.
  int hung_port = 0;
  sys::Fd hung = testing_util::SilentListener(&hung_port);
  ASSERT_TRUE(hung.valid());
  auto h = Open({"http://127.0.0.1:" + std::to_string(hung_port), etcd_->endpoint()}, 300);
  auto granted = h->Put("timed-out", "v");
  ASSERT_FALSE(granted.ok());
  EXPECT_EQ(granted.error().code(), Code::kUnavailable);
  EXPECT_NE(granted.error().message().find("outcome is unknown"), std::string::npos)
      << granted.error().message();
  EXPECT_TRUE(Open()->Get("timed-out")->kvs.empty());
}

// An endpoint that creates the watch and then says nothing more, as a hung etcd whose
// connection stays open would. It keeps what the client sent in `request`.
struct QuietWatchServer {
  sys::Fd listener;
  int port = 0;
  std::string request;
  std::thread thread;

  QuietWatchServer() {
    listener = testing_util::SilentListener(&port);
    thread = std::thread([this] {
      sys::Fd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      char buf[4096];
      ssize_t n = ::recv(conn.get(), buf, sizeof buf, 0);
      if (n > 0) request.assign(buf, static_cast<size_t>(n));
      std::string line = R"({"result":{"header":{"revision":"1"},"created":true}})" "\n";
      char size[16];
      std::snprintf(size, sizeof size, "%zx", line.size());
      std::string answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n" +
                           std::string(size) + "\r\n" + line + "\r\n";
      (void)::send(conn.get(), answer.data(), answer.size(), MSG_NOSIGNAL);
      while (::recv(conn.get(), buf, sizeof buf, 0) > 0) {}  // until the client goes
    });
  }
  ~QuietWatchServer() { thread.join(); }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port); }
};

TEST(EtcdWatch, AsksForALeaderAndEndsWhenIdleTooLong) {
  QuietWatchServer server;
  ASSERT_TRUE(server.listener.valid());
  Options o;
  o.endpoints = {server.endpoint()};
  o.watch_idle_ms = 300;
  auto c = Client::Open(o);
  ASSERT_TRUE(c.ok());
  std::atomic<bool> stop{false};
  std::thread stopper([&] {  // without the idle bound the watch would wait for this
    for (int i = 0; i < 300 && !stop; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    stop = true;
  });
  auto start = Clock::now();
  Status st = (*c)->Watch("", 0, [](int64_t, const std::vector<WatchEvent>&) { return true; },
                          stop);
  long took = MsSince(start);
  stop = true;
  stopper.join();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kUnavailable) << st.error().message();
  EXPECT_GE(took, 300);
  EXPECT_LT(took, 2000);
  EXPECT_NE(server.request.find("Grpc-Metadata-hasleader: true\r\n"), std::string::npos)
      << server.request;
}

TEST(EtcdWatch, EndsUnavailableWhenItsEtcdDies) {
  auto own = TestEtcd::Start();  // this test kills it
  ASSERT_TRUE(own.ok()) << own.error().message();
  auto c = Client::Open((*own)->client_options());
  ASSERT_TRUE(c.ok());
  auto rev = (*c)->Put("before", "1");
  ASSERT_TRUE(rev.ok()) << rev.error().message();
  std::atomic<bool> stop{false}, seen{false};
  std::thread killer([&] {
    for (int i = 0; i < 100 && !seen; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    (*own)->Kill();
  });
  auto start = Clock::now();
  Status st = (*c)->Watch("", *rev, [&](int64_t, const std::vector<WatchEvent>&) {
    seen = true;
    return true;
  }, stop);
  killer.join();
  EXPECT_TRUE(seen);
  EXPECT_LT(MsSince(start), 1500);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kUnavailable) << st.error().message();
}

TEST(EtcdTls, ClientCertificateAndCaAreUsed) {
  auto tls = TestEtcd::Start(/*tls=*/true);
  ASSERT_TRUE(tls.ok()) << tls.error().message();
  auto c = Client::Open((*tls)->client_options());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Put("k", "v").ok());
  EXPECT_EQ((*c)->Get("k")->kvs.at(0).value, "v");

  Options no_cert = (*tls)->client_options();
  no_cert.cert.clear();
  no_cert.key.clear();
  auto refused = (*Client::Open(no_cert))->Get("k");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Code::kUnavailable) << refused.error().message();

  Options no_ca = (*tls)->client_options();
  no_ca.cacert.clear();
  auto untrusted = (*Client::Open(no_ca))->Get("k");
  ASSERT_FALSE(untrusted.ok());
  EXPECT_NE(untrusted.error().message().find((*tls)->endpoint()), std::string::npos);
}

}  // namespace
}  // namespace berth::etcd
