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
  /// when /usr/bin/etcd is missing: scripts/bootstrap.sh installs it.
  static Result<std::unique_ptr<TestEtcd>> Start() {
    char tmpl[] = "/tmp/berth-etcd-test-XXXXXX";
    if (!::mkdtemp(tmpl)) return Error::System("mkdtemp", errno);
    std::unique_ptr<TestEtcd> e(new TestEtcd(tmpl));
    int client_port = FreePort(), peer_port = FreePort();
    e->endpoint_ = "http://127.0.0.1:" + std::to_string(client_port);
    std::string peer = "http://127.0.0.1:" + std::to_string(peer_port);
    sys::Fd log(::open((e->dir_ + "/etcd.log").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    sys::SubprocessSpec spec;
    spec.path = "/usr/bin/etcd";
    // Short heartbeat and election: a leader within ~100 ms, and leases as short as 1 s.
    spec.argv = {"etcd", "--name", "t", "--data-dir", e->dir_ + "/data",
                 "--listen-client-urls", e->endpoint_, "--advertise-client-urls", e->endpoint_,
                 "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                 "--initial-cluster", "t=" + peer, "--heartbeat-interval", "10",
                 "--election-timeout", "100", "--logger", "zap", "--log-level", "error"};
    spec.std_in = sys::Stdio::Null();
    spec.std_out = sys::Stdio::From(log.get());
    spec.std_err = sys::Stdio::From(log.get());
    BERTH_ASSIGN_OR_RETURN(auto proc, sys::Subprocess::Start(std::move(spec)));
    e->proc_ = std::make_unique<sys::Subprocess>(std::move(proc));

    Options o;
    o.endpoints = {e->endpoint_};
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
    if (proc_) {
      (void)proc_->Kill(SIGKILL);
      (void)proc_->Wait();
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  const std::string& endpoint() const { return endpoint_; }

  std::string Log() const {
    std::ifstream in(dir_ + "/etcd.log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  explicit TestEtcd(std::string dir) : dir_(std::move(dir)) {}

  std::string dir_;
  std::string endpoint_;
  std::unique_ptr<sys::Subprocess> proc_;
};

}  // namespace berth::etcd::testing_util
