// Test helper: a real single-member etcd (/usr/bin/etcd, Debian's etcd-server) on 127.0.0.1 with
// free ports and a data directory of its own, killed by PID and its directory removed when the
// TestEtcd goes. Used by the unit tests only; they run in tests/sandbox.sh, whose loopback is
// private.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "etcd/client.h"
#include "sys/fd.h"
#include "sys/subprocess.h"

namespace berth::etcd::testing_util {

/// A TCP port on 127.0.0.1 that nobody listens on right now.
inline int FreePort() {
  sys::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (!fd.valid() || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
    return -1;
  return ntohs(a.sin_port);
}

/// A socket that listens on 127.0.0.1 and never accepts: connections complete (the kernel's
/// backlog) and then nothing answers, as a hung etcd would.
inline sys::Fd SilentListener(int* port) {
  sys::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(fd.get(), 16) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
    return sys::Fd();
  *port = ntohs(a.sin_port);
  return fd;
}

class TestEtcd {
 public:
  /// Starts etcd and waits until it takes writes (a leader is elected). Fails, never skips,
  /// when /usr/bin/etcd is missing: scripts/bootstrap.sh installs it. With `tls`, etcd serves
  /// https and wants a client certificate: client_options() has the files a client needs.
  static Result<std::unique_ptr<TestEtcd>> Start(bool tls = false) {
    char tmpl[] = "/tmp/berth-etcd-test-XXXXXX";
    if (!::mkdtemp(tmpl)) return Error::System("mkdtemp", errno);
    std::unique_ptr<TestEtcd> e(new TestEtcd(tmpl));
    int client_port = FreePort(), peer_port = FreePort();
    e->endpoint_ = std::string(tls ? "https" : "http") + "://127.0.0.1:" +
                   std::to_string(client_port);
    std::string peer = "http://127.0.0.1:" + std::to_string(peer_port);
    std::vector<std::string> tls_args;
    if (tls) {
      BERTH_TRY(e->MakeCertificates());
      tls_args = {"--cert-file", e->dir_ + "/node.crt", "--key-file", e->dir_ + "/node.key",
                  "--client-cert-auth", "--trusted-ca-file", e->dir_ + "/ca.crt"};
    }
    sys::Fd log(::open((e->dir_ + "/etcd.log").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    sys::SubprocessSpec spec;
    spec.path = "/usr/bin/etcd";
    // Short heartbeat and election: a leader within ~100 ms, and leases as short as 1 s.
    spec.argv = {"etcd", "--name", "t", "--data-dir", e->dir_ + "/data",
                 "--listen-client-urls", e->endpoint_, "--advertise-client-urls", e->endpoint_,
                 "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                 "--initial-cluster", "t=" + peer, "--heartbeat-interval", "10",
                 "--election-timeout", "100", "--logger", "zap", "--log-level", "error"};
    spec.argv.insert(spec.argv.end(), tls_args.begin(), tls_args.end());
    spec.std_in = sys::Stdio::Null();
    spec.std_out = sys::Stdio::From(log.get());
    spec.std_err = sys::Stdio::From(log.get());
    BERTH_ASSIGN_OR_RETURN(auto proc, sys::Subprocess::Start(std::move(spec)));
    e->proc_ = std::make_unique<sys::Subprocess>(std::move(proc));

    Options o = e->client_options();
    o.prefix = "/ready";
    o.timeout_ms = 200;
    BERTH_ASSIGN_OR_RETURN(auto client, Client::Open(o));
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (true) {
      auto put = client->Put("x", "y");
      if (put.ok()) return e;
      if (std::chrono::steady_clock::now() > until)
        return Error::Unavailable("etcd did not come up: " + put.error().message() +
                                  "; its log: " + e->Log());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  ~TestEtcd() {
    Kill();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  /// Ends etcd at once (SIGKILL by its PID), as a crash would.
  void Kill() {
    if (!proc_) return;
    (void)proc_->Kill(SIGKILL);
    (void)proc_->Wait();
    proc_.reset();
  }

  const std::string& endpoint() const { return endpoint_; }

  /// Options for this etcd, with the CA and client certificate when it serves TLS.
  Options client_options() const {
    Options o;
    o.endpoints = {endpoint_};
    if (endpoint_.rfind("https", 0) == 0) {
      o.cacert = dir_ + "/ca.crt";
      o.cert = dir_ + "/node.crt";
      o.key = dir_ + "/node.key";
    }
    return o;
  }

  std::string Log() const {
    std::ifstream in(dir_ + "/etcd.log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  explicit TestEtcd(std::string dir) : dir_(std::move(dir)) {}

  // A CA and one certificate signed by it for 127.0.0.1, good for both ends (etcd's server
  // certificate and the client's).
  Status MakeCertificates() {
    std::string script =
        "set -e; cd '" + dir_ + "'\n"
        "ec='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'\n"
        "openssl req -x509 $ec -keyout ca.key -out ca.crt -subj /CN=berth-test-ca -days 1\n"
        "openssl req $ec -keyout node.key -out node.csr -subj /CN=127.0.0.1\n"
        "printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth,clientAuth\\n' "
        "> ext\n"
        "openssl x509 -req -in node.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 "
        "-extfile ext -out node.crt\n";
    sys::SubprocessSpec spec;
    spec.argv = {"sh", "-c", script};
    spec.std_out = sys::Stdio::Pipe();
    spec.std_err = sys::Stdio::ToStdout();
    BERTH_ASSIGN_OR_RETURN(auto done, sys::RunToExit(std::move(spec)));
    if (done.exit_code != 0) return Error::Internal("openssl failed: " + done.out);
    return Ok();
  }

  std::string dir_;
  std::string endpoint_;
  std::unique_ptr<sys::Subprocess> proc_;
};

/// A test suite sharing one etcd (started once, ~90 ms) whose tests each get clients under a
/// prefix of their own. A suite whose etcd did not start fails every test, saying why.
class SharedEtcdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto e = TestEtcd::Start();
    if (e.ok()) {
      etcd_ = std::move(*e).release();
    } else {
      start_error_ = new std::string(e.error().message());
    }
  }
  static void TearDownTestSuite() {
    delete etcd_;
    etcd_ = nullptr;
    delete start_error_;
    start_error_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(etcd_, nullptr) << "etcd: " << (start_error_ ? *start_error_ : "");
  }

  /// A client of the shared etcd (or of `endpoints`) under "/test/<this test's name>".
  std::unique_ptr<Client> Open(std::vector<std::string> endpoints = {}, int timeout_ms = 2000) {
    Options o;
    o.endpoints = endpoints.empty() ? std::vector<std::string>{etcd_->endpoint()} : endpoints;
    o.prefix = std::string("/test/") +
               ::testing::UnitTest::GetInstance()->current_test_info()->name();
    o.timeout_ms = timeout_ms;
    auto c = Client::Open(o);
    EXPECT_TRUE(c.ok()) << c.error().message();
    return c.ok() ? std::move(*c) : nullptr;
  }

  static inline TestEtcd* etcd_ = nullptr;
  static inline std::string* start_error_ = nullptr;
};

}  // namespace berth::etcd::testing_util
