#include "daemon/berthd.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "dns/forwarder.h"
#include "dns/server.h"
#include "engine/dns.h"
#include "engine/engine.h"
#include "engine/wiring.h"
#include "sys/fd.h"
#include "sys/proc.h"

namespace berth::daemon {

namespace {

using nlohmann::json;

constexpr char kVersion[] = "berthd 0.1.0";

struct FileStamp {
  bool exists = false;
  ino_t ino = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp Stamp(const std::string& path) {
  struct stat st;
  FileStamp s;
  if (::stat(path.c_str(), &st) != 0) return s;
  s.exists = true;
  s.ino = st.st_ino;
  s.size = st.st_size;
  s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return s;
}

// systemd readiness protocol (sd_notify(3)), without linking libsystemd.
void SdNotify(const std::string& state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path || !*path) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  size_t len = std::strlen(path);
  if (len >= sizeof(addr.sun_path)) return;
  std::memcpy(addr.sun_path, path, len);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  sys::Fd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return;
  ::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL,
           reinterpret_cast<sockaddr*>(&addr),
           static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len));
}

class Daemon {
 public:
  explicit Daemon(const Options& opts) : opts_(opts), paths_{opts.root} {}

  int Run() {
    ::umask(0077);
    // No notifier: berthd never notifies itself.
    auto engine = engine::Engine::Open(paths_.root, engine::KernelWiring());
    if (!engine.ok()) return Fatal("open state root", engine.error());
    engine_ = std::move(*engine);
    if (int rc = LockPidFile(); rc >= 0) return rc;

    // Signals are taken through a signalfd; block them before any thread starts.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    signals_ = sys::Fd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!signals_.valid()) return Fatal("signalfd", Error::System("signalfd", errno));

    dns::ServerOptions so;
    so.port = opts_.port;
    so.workers = opts_.workers;
    so.forwarder.attempt_timeout_ms = opts_.upstream_timeout_ms;
    if (opts_.busy_poll_us >= 0) so.busy_poll_us = opts_.busy_poll_us;
    auto server = dns::Server::Start(so);
    if (!server.ok()) return Fatal("start DNS server", server.error());
    server_ = std::move(*server);

    Status st = Reload("startup");
    if (!st.ok()) log::Error("initial load failed", {{"error", st.error().message()}});
    if (Status api = OpenApi(); !api.ok()) {
      server_->Stop();
      return Fatal("open API socket", api.error());
    }
    log::Info("started", {{"version", kVersion},
                          {"pid", std::to_string(::getpid())},
                          {"root", paths_.root},
                          {"api", paths_.berthd_socket()},
                          {"workers", std::to_string(server_->workers())}});
    SdNotify("READY=1\nMAINPID=" + std::to_string(::getpid()));
    int rc = Loop();
    SdNotify("STOPPING=1");
    server_->Stop();
    api_.Reset();
    ::unlink(paths_.berthd_socket().c_str());
    ::unlink(paths_.berthd_pid().c_str());
    log::Info("stopped", {{"generation", std::to_string(generation_)}});
    return rc;
  }

 private:
  int Fatal(std::string_view what, const Error& e) {
    log::Error(what, {{"error", e.message()}});
    return 1;
  }

  // -1: locked and written; otherwise the exit status.
  int LockPidFile() {
    std::string path = paths_.berthd_pid();
    pid_fd_ = sys::Fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!pid_fd_.valid()) return Fatal("open pid file", Error::System(path, errno));
    if (::flock(pid_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
      auto other = sys::ReadFile(path);
      std::string pid = other.ok() ? *other : "";
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      log::Error("another berthd already serves this state root",
                 {{"root", paths_.root}, {"pid", pid}});
      return 1;
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(pid_fd_.get(), 0) != 0 ||
        ::pwrite(pid_fd_.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
      return Fatal("write pid file", Error::System(path, errno));
    }
    return -1;
  }

  Status OpenApi() {
    std::string path = paths_.berthd_socket();
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof(addr.sun_path)) return Error::Invalid("socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    ::unlink(path.c_str());  // a stale socket of a berthd that died; we hold the lock now
    api_ = sys::Fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!api_.valid()) return Error::System("socket", errno);
    if (::bind(api_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      return Error::System("bind " + path, errno);
    }
    if (::chmod(path.c_str(), 0600) != 0) return Error::System("chmod " + path, errno);
    if (::listen(api_.get(), 64) != 0) return Error::System("listen " + path, errno);
    return Ok();
  }

  int Loop() {
    for (;;) {
      pollfd fds[2] = {{signals_.get(), POLLIN, 0}, {api_.get(), POLLIN, 0}};
      int n = ::poll(fds, 2, kPollMs);
      if (n < 0 && errno != EINTR) {
        log::Error("poll failed", {{"error", std::strerror(errno)}});
        return 1;
      }
      if (n > 0 && (fds[0].revents & POLLIN)) {
        signalfd_siginfo si;
        while (::read(signals_.get(), &si, sizeof(si)) == sizeof(si)) {
          if (si.ssi_signo == SIGHUP) {
            resolv_stamp_ = {};  // re-read it too
            (void)Reload("SIGHUP");
            continue;
          }
          log::Info("stopping", {{"signal", strsignal(static_cast<int>(si.ssi_signo))}});
          return 0;
        }
      }
      if (n > 0 && (fds[1].revents & POLLIN)) ServeApi();
      // Safety net: changes committed without a reload request (a berth that could not reach
      // us, a crash between commit and notify), a new resolv.conf, listeners still missing.
      if (DbStamp() != db_stamp_) {
        (void)Reload("store changed");
      } else if (Stamp(opts_.resolv_conf) != resolv_stamp_ || !failed_listeners_.empty()) {
        RefreshUpstreams();
        if (!failed_listeners_.empty()) ApplyListeners(false);
      }
    }
  }

  Status Reload(std::string_view why) {
    auto start = std::chrono::steady_clock::now();
    db_stamp_ = DbStamp();
    auto spec = engine::DnsRecords(engine_->store());
    if (!spec.ok()) {
      log::Error("reload failed", {{"reason", std::string(why)}, {"error", spec.error().message()}});
      return std::move(spec).error();
    }
    auto table = dns::Table::Build(*spec);
    size_t records = table->record_count();
    size_t networks = table->networks().size();
    server_->Publish(std::move(table));
    ApplyListeners(true);
    RefreshUpstreams();
    ++generation_;
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    log::Info("reloaded", {{"reason", std::string(why)},
                           {"generation", std::to_string(generation_)},
                           {"networks", std::to_string(networks)},
                           {"records", std::to_string(records)},
                           {"listening", std::to_string(server_->Listening().size())},
                           {"us", std::to_string(us)}});
    return Ok();
  }

  // The store is in WAL mode: a commit changes the -wal file, a checkpoint the database.
  std::pair<FileStamp, FileStamp> DbStamp() const {
    return {Stamp(paths_.db()), Stamp(paths_.db() + "-wal")};
  }

  void ApplyListeners(bool log_failures_again) {
    auto failed = server_->SetListeners(server_->table()->ListenAddresses());
    std::set<IpAddr> now;
    for (const auto& [addr, err] : failed) {
      now.insert(addr);
      if (log_failures_again || !failed_listeners_.count(addr)) {
        log::Error("cannot listen", {{"addr", addr.ToString()}, {"error", err.message()}});
      }
    }
    failed_listeners_ = std::move(now);
  }

  void RefreshUpstreams() {
    FileStamp st = Stamp(opts_.resolv_conf);
    if (st == resolv_stamp_) return;
    resolv_stamp_ = st;
    auto text = sys::ReadFile(opts_.resolv_conf);
    std::vector<IpAddr> ns = dns::ParseResolvConfNameservers(text.ok() ? *text : "");
    // Never forward to ourselves: that would loop.
    std::vector<IpAddr> ours = server_->table()->ListenAddresses();
    std::vector<std::pair<IpAddr, uint16_t>> upstreams;
    std::string list;
    for (const IpAddr& ip : ns) {
      if (std::find(ours.begin(), ours.end(), ip) != ours.end()) continue;
      upstreams.emplace_back(ip, 53);
      list += (list.empty() ? "" : ",") + ip.ToString();
    }
    server_->forwarder().SetUpstreams(std::move(upstreams));
    log::Info("upstreams", {{"resolv_conf", opts_.resolv_conf}, {"servers", list}});
  }

  json StatusJson() {
    dns::ServerStats s = server_->Stats();
    json listening = json::array();
    for (const IpAddr& a : server_->Listening()) listening.push_back(a.ToString());
    json upstreams = json::array();
    for (const auto& [ip, port] : server_->forwarder().upstreams()) {
      upstreams.push_back(ip.ToString());
    }
    json networks = json::array();
    auto table = server_->table();
    for (const auto& n : table->networks()) networks.push_back(n.name);
    return {{"version", kVersion},
            {"pid", ::getpid()},
            {"root", paths_.root},
            {"generation", generation_},
            {"dns",
             {{"networks", networks},
              {"records", table->record_count()},
              {"listening", listening},
              {"upstreams", upstreams},
              {"workers", server_->workers()},
              {"udp_queries", s.udp_queries},
              {"tcp_queries", s.tcp_queries},
              {"answered", s.answered},
              {"refused", s.refused},
              {"formerr", s.formerr},
              {"truncated", s.truncated},
              {"send_errors", s.send_errors},
              {"forwarded", s.forwarder.forwarded},
              {"forward_answered", s.forwarder.answered},
              {"forward_tcp_retries", s.forwarder.tcp_retries},
              {"forward_failed", s.forwarder.failed}}}};
  }

  // One request per connection (HTTP/1.0 style). Every connection already waiting is read
  // first and they share one reload: a burst of container starts costs one rebuild, and a
  // client that did not wait for the answer (berth's fire-and-forget notice) costs nothing.
  void ServeApi() {
    struct Request {
      sys::Fd fd;
      std::string method, path;
    };
    std::vector<Request> requests;
    for (;;) {
      sys::Fd c(::accept4(api_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!c.valid()) break;
      timeval tv{2, 0};
      ::setsockopt(c.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      ::setsockopt(c.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
      std::string req;
      char buf[2048];
      while (req.find("\r\n\r\n") == std::string::npos && req.size() < 16384) {
        ssize_t n = ::recv(c.get(), buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      std::string line = req.substr(0, req.find("\r\n"));
      size_t sp1 = line.find(' '), sp2 = line.find(' ', sp1 + 1);
      std::string method = line.substr(0, sp1);
      std::string path = sp1 == std::string::npos ? "" : line.substr(sp1 + 1, sp2 - sp1 - 1);
      requests.push_back({std::move(c), method, path});
    }
    bool reload = std::any_of(requests.begin(), requests.end(), [](const Request& r) {
      return r.method == "POST" && r.path == "/v1/reload";
    });
    Status reloaded = reload ? Reload("api") : Ok();
    for (Request& r : requests) {
      int code = 200;
      json body;
      if (r.method == "POST" && r.path == "/v1/reload") {
        if (reloaded.ok()) {
          body = {{"generation", generation_},
                  {"records", server_->table()->record_count()}};
        } else {
          code = 500;
          body = {{"error", reloaded.error().message()}};
        }
      } else if (r.method == "GET" && r.path == "/v1/status") {
        body = StatusJson();
      } else {
        code = 404;
        body = {{"error", "no such endpoint: " + r.method + " " + r.path},
                {"endpoints", {"GET /v1/status", "POST /v1/reload"}}};
      }
      std::string text = body.dump() + "\n";
      std::string resp = "HTTP/1.0 " + std::to_string(code) +
                         (code == 200 ? " OK" : code == 404 ? " Not Found" : " Error") +
                         "\r\nContent-Type: application/json\r\nContent-Length: " +
                         std::to_string(text.size()) + "\r\nConnection: close\r\n\r\n" + text;
      size_t off = 0;
      while (off < resp.size()) {
        ssize_t n = ::send(r.fd.get(), resp.data() + off, resp.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // a client that did not wait for the answer
        off += static_cast<size_t>(n);
      }
    }
  }

  Options opts_;
  engine::Paths paths_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<dns::Server> server_;
  sys::Fd pid_fd_, signals_, api_;
  std::pair<FileStamp, FileStamp> db_stamp_;
  FileStamp resolv_stamp_;
  std::set<IpAddr> failed_listeners_;
  uint64_t generation_ = 0;
};

const char kUsage[] =
    "usage: berthd [--root DIR] [--log-level debug|info|warn|error] [--workers N]\n"
    "              [--port N] [--upstream-timeout-ms N] [--resolv-conf PATH]\n"
    "              [--busy-poll-us N]\n"
    "\n"
    "berth's daemon: the embedded DNS server of DNS-enabled networks (and later the cluster\n"
    "agent). One per state root (default $BERTH_ROOT or /var/lib/berth); `berth` starts it\n"
    "when needed. API: HTTP on the unix socket ROOT/berthd.sock (GET /v1/status, POST\n"
    "/v1/reload). Logs: logfmt lines on stderr.\n";

bool ParseInt(const char* s, int lo, int hi, int* out) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (!*s || *end || v < lo || v > hi) return false;
  *out = static_cast<int>(v);
  return true;
}

}  // namespace

int ParseArgs(int argc, char** argv, Options* opts) {
  if (const char* env = std::getenv("BERTH_ROOT"); env && *env) opts->root = env;
  if (opts->root.empty()) opts->root = engine::kDefaultRoot;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char** v) {
      if (i + 1 >= argc) return false;
      *v = argv[++i];
      return true;
    };
    const char* v = nullptr;
    int n = 0;
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--version") {
      std::puts(kVersion);
      return 0;
    } else if (a == "--root" && value(&v)) {
      opts->root = v;
    } else if (a == "--log-level" && value(&v) && log::ParseLevel(v, &opts->log_level)) {
    } else if (a == "--workers" && value(&v) && ParseInt(v, 1, 64, &n)) {
      opts->workers = n;
    } else if (a == "--port" && value(&v) && ParseInt(v, 1, 65535, &n)) {
      opts->port = static_cast<uint16_t>(n);
    } else if (a == "--upstream-timeout-ms" && value(&v) && ParseInt(v, 10, 60000, &n)) {
      opts->upstream_timeout_ms = n;
    } else if (a == "--busy-poll-us" && value(&v) && ParseInt(v, 0, 10000, &n)) {
      opts->busy_poll_us = n;
    } else if (a == "--resolv-conf" && value(&v)) {
      opts->resolv_conf = v;
    } else {
      std::fprintf(stderr, "berthd: bad argument: %s\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  return -1;
}

int Run(const Options& opts) {
  log::SetLevel(opts.log_level);
  return Daemon(opts).Run();
}

}  // namespace berth::daemon
