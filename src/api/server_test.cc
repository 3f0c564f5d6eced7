#include "api/server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "api/client.h"

namespace berth::api {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-api-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    socket_ = dir_ + "/api.sock";
  }
  void TearDown() override {
    server_.reset();
    ::unlink(socket_.c_str());
    ::rmdir(dir_.c_str());
  }

  void StartServer(ServerOptions opts = {}) {
    Routes routes;
    routes.Add("GET", "/v1/status", [](const HttpRequest&) {
      return HttpResponse{200, "{\"ok\":true}\n"};
    });
    routes.Add("POST", "/v1/reload", [this](const HttpRequest& r) {
      reloads_.fetch_add(1);
      return HttpResponse{200, "{\"body\":\"" + r.body + "\"}\n"};
    });
    auto fd = ListenUnix(socket_);
    ASSERT_TRUE(fd.ok()) << fd.error().message();
    auto s = Server::Start(std::move(*fd), std::move(routes), opts);
    ASSERT_TRUE(s.ok()) << s.error().message();
    server_ = std::move(*s);
  }

  // A raw connection that says only what the test makes it say.
  sys::Fd RawClient() {
    auto fd = Connect(socket_);
    EXPECT_TRUE(fd.ok());
    return fd.ok() ? std::move(*fd) : sys::Fd();
  }

  std::string ReadAll(int fd) {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
  }

  bool WaitActive(int n) {
    auto deadline = Clock::now() + std::chrono::seconds(2);
    while (server_->active() != n) {
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  std::string dir_, socket_;
  std::unique_ptr<Server> server_;
  std::atomic<int> reloads_{0};
};

TEST_F(ApiServerTest, LoopbackRequestsAndRoutes) {
  StartServer();
  auto r = Request(socket_, "GET", "/v1/status");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "{\"ok\":true}\n");
  r = Request(socket_, "POST", "/v1/reload", "abc");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "{\"body\":\"abc\"}\n");
  EXPECT_EQ(reloads_.load(), 1);

  r = Request(socket_, "GET", "/nope");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find("\"endpoints\":[\"GET /v1/status\",\"POST /v1/reload\"]"),
            std::string::npos)
      << r->body;
  r = Request(socket_, "GET", "/v1/reload");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 405);
  auto body = BodyOf200(*r, "GET /v1/reload");
  ASSERT_FALSE(body.ok());
  EXPECT_NE(body.error().message().find("405"), std::string::npos);
}

TEST_F(ApiServerTest, Http10ClientGetsHttp10Answer) {
  StartServer();
  sys::Fd c = RawClient();
  std::string req = "GET /v1/status HTTP/1.0\r\n\r\n";
  ASSERT_EQ(::send(c.get(), req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  std::string resp = ReadAll(c.get());
  EXPECT_EQ(resp.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << resp;
}

TEST_F(ApiServerTest, SilentAndTricklingClientsDoNotDelayOthers) {
  StartServer();
  sys::Fd silent = RawClient();
  sys::Fd trickle = RawClient();
  ASSERT_EQ(::send(trickle.get(), "PO", 2, 0), 2);
  ASSERT_TRUE(WaitActive(2));
  auto start = Clock::now();
  auto r = Request(socket_, "POST", "/v1/reload", "", 1000);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_LT(MsSince(start), 200);
}

TEST_F(ApiServerTest, ClientWithoutAWholeRequestInTimeIsClosed) {
  ServerOptions opts;
  opts.request_timeout_ms = 150;
  StartServer(opts);
  sys::Fd partial = RawClient();
  sys::Fd silent = RawClient();
  ASSERT_EQ(::send(partial.get(), "GET /v1/sta", 11, 0), 11);
  auto start = Clock::now();
  std::string resp = ReadAll(partial.get());
  EXPECT_EQ(resp.rfind("HTTP/1.1 408 ", 0), 0u) << resp;
  EXPECT_EQ(ReadAll(silent.get()), "");  // closed without a word
  EXPECT_LT(MsSince(start), 1000);
  EXPECT_TRUE(WaitActive(0));
}

TEST_F(ApiServerTest, MalformedAndOversizedRequestsGetAnErrorStatus) {
  ServerOptions opts;
  opts.limits.max_head = 128;
  StartServer(opts);
  {
    sys::Fd c = RawClient();
    std::string req = "GET /v1/status HTTP/1.1\r\nX: " + std::string(500, 'a') + "\r\n\r\n";
    ::send(c.get(), req.data(), req.size(), MSG_NOSIGNAL);
    EXPECT_EQ(ReadAll(c.get()).rfind("HTTP/1.1 431 ", 0), 0u);
  }
  {
    sys::Fd c = RawClient();
    ::send(c.get(), "\x16\x03\x01", 3, MSG_NOSIGNAL);
    EXPECT_EQ(ReadAll(c.get()).rfind("HTTP/1.1 400 ", 0), 0u);
  }
  auto r = Request(socket_, "GET", "/v1/status");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
}

TEST_F(ApiServerTest, OverTheConnectionCapClientsGet503AtOnce) {
  ServerOptions opts;
  opts.max_connections = 2;
  StartServer(opts);
  sys::Fd a = RawClient(), b = RawClient();
  ASSERT_TRUE(WaitActive(2));
  auto r = Request(socket_, "GET", "/v1/status", "", 1000);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->status, 503);
  a.Reset();
  b.Reset();
  ASSERT_TRUE(WaitActive(0));
  r = Request(socket_, "GET", "/v1/status");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
}

TEST_F(ApiServerTest, FireAndForgetIsStillServed) {
  StartServer();
  ASSERT_TRUE(Send(socket_, "POST", "/v1/reload").ok());
  auto deadline = Clock::now() + std::chrono::seconds(2);
  while (reloads_.load() == 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(reloads_.load(), 1);
}

TEST_F(ApiServerTest, StopWithIdleClientsIsPrompt) {
  StartServer();
  sys::Fd a = RawClient();
  ASSERT_TRUE(WaitActive(1));
  auto start = Clock::now();
  server_->Stop();
  EXPECT_LT(MsSince(start), 500);
  auto r = Request(socket_, "GET", "/v1/status", "", 200);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kUnavailable);
}

TEST_F(ApiServerTest, NobodyListeningIsUnavailable) {
  auto r = Request(socket_, "GET", "/v1/status");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kUnavailable);
  EXPECT_FALSE(Answers(socket_));
}

TEST_F(ApiServerTest, ServerThatNeverAnswersTimesOut) {
  auto fd = ListenUnix(socket_);  // listening, never accepting
  ASSERT_TRUE(fd.ok());
  EXPECT_TRUE(Answers(socket_));
  auto start = Clock::now();
  auto r = Request(socket_, "GET", "/v1/status", "", 100);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kUnavailable);
  EXPECT_LT(MsSince(start), 1000);
}

}  // namespace
}  // namespace berth::api
