#include "engine/dns.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <thread>

#include "sys/fd.h"

namespace berth::engine {

bool DnsEnabled(const Network& n) { return !n.is_default && n.OptionBool("dns", true); }

Result<bool> OnDnsNetwork(store::Store& store, const std::vector<Endpoint>& endpoints) {
  for (const Endpoint& e : endpoints) {
    BERTH_ASSIGN_OR_RETURN(auto n, store.FindNetwork(e.network_id));
    if (n && DnsEnabled(*n)) return true;
  }
  return false;
}

Result<dns::TableSpec> DnsRecords(store::Store& store) {
  dns::TableSpec spec;
  BERTH_ASSIGN_OR_RETURN(std::vector<Network> networks, store.ListNetworks());
  BERTH_ASSIGN_OR_RETURN(std::vector<Container> containers, store.ListContainers());
  std::map<std::string, const Container*> by_id;
  for (const Container& c : containers) by_id[c.id] = &c;
  for (const Network& n : networks) {
    if (!DnsEnabled(n)) continue;
    uint32_t index = static_cast<uint32_t>(spec.networks.size());
    spec.networks.push_back({n.name, {n.gateway}, {n.subnet}, n.internal});
    BERTH_ASSIGN_OR_RETURN(std::vector<Endpoint> eps, store.EndpointsOfNetwork(n.id));
    for (const Endpoint& e : eps) {
      auto it = by_id.find(e.container_id);
      if (it == by_id.end()) continue;
      const Container& c = *it->second;
      dns::TableSpec::Endpoint rec;
      rec.network = index;
      rec.ip = e.ip;
      rec.owner = c.id;
      rec.names.push_back(c.name);
      rec.names.insert(rec.names.end(), e.aliases.begin(), e.aliases.end());
      if (!c.hostname.empty()) rec.names.push_back(c.hostname);
      spec.endpoints.push_back(std::move(rec));
    }
  }
  return spec;
}

namespace {

// Connects to berthd's socket with send/receive timeouts; kUnavailable when nobody listens.
Result<sys::Fd> Connect(const Paths& paths, int timeout_ms) {
  sys::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Error::System("socket", errno);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = paths.berthd_socket();
  if (path.size() >= sizeof(addr.sun_path)) {
    return Error::Invalid("berthd socket path too long: " + path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    if (err == ENOENT || err == ECONNREFUSED) {
      return Error(Code::kUnavailable, "berthd is not running (" + path + ")", err);
    }
    return Error::System("connect to berthd at " + path, err);
  }
  return fd;
}

class BerthdNotifier : public ChangeNotifier {
 public:
  explicit BerthdNotifier(Paths paths) : paths_(std::move(paths)) {}

  void Changed(const Change& change) override {
    if (!change.dns) return;  // no DNS-enabled network involved: no record or listener changes
    // Fire and forget: berthd applies it within a millisecond or two (the bound is 100 ms),
    // and a container attach does not wait for berthd to rebuild its records.
    Status st = AskBerthdToReload(paths_);
    if (st.ok()) return;
    bool start = change.kind == Change::kEndpointsAdded;
    if (st.error().code() == Code::kUnavailable) {
      if (!start) return;  // nobody to tell: berthd reads everything when it starts
      st = EnsureBerthd(paths_);
      if (st.ok()) return;
    }
    std::fprintf(stderr, "berth: warning: DNS: %s\n", st.error().message().c_str());
  }

 private:
  Paths paths_;
};

// Forks berthd off as a daemon of its own (new session, stdio to its log, no inherited fds,
// cwd /); the intermediate child exits at once, so berthd is nobody's zombie. A close-on-exec
// pipe reports an exec failure (berthd not installed) at once instead of after a timeout.
Status SpawnBerthd(const Paths& paths) {
  std::string bin = BerthdBinary();
  std::string root = paths.root;
  std::string log = paths.berthd_log();
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Error::System("pipe", errno);
  sys::Fd rd(p[0]), wr(p[1]);
  std::fflush(nullptr);
  pid_t child = ::fork();
  if (child < 0) return Error::System("fork", errno);
  if (child == 0) {
    ::setsid();
    pid_t daemon = ::fork();
    if (daemon != 0) ::_exit(daemon < 0 ? 1 : 0);
    int devnull = ::open("/dev/null", O_RDWR);
    int logfd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (logfd < 0) logfd = devnull;
    ::dup2(devnull, 0);
    ::dup2(logfd, 1);
    ::dup2(logfd, 2);
    int report = ::fcntl(wr.get(), F_DUPFD_CLOEXEC, 3);
    ::close_range(3, static_cast<unsigned>(report > 3 ? report - 1 : 2), 0);
    ::close_range(static_cast<unsigned>(report + 1), ~0u, 0);
    if (::chdir("/") != 0) ::_exit(1);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGPIPE}) ::signal(sig, SIG_DFL);
    const char* argv[] = {bin.c_str(), "--root", root.c_str(), nullptr};
    ::execvp(argv[0], const_cast<char* const*>(argv));
    int err = errno;
    ssize_t ignored = ::write(report, &err, sizeof(err));
    (void)ignored;
    ::_exit(127);
  }
  wr.Reset();
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  int err = 0;
  ssize_t n;
  while ((n = ::read(rd.get(), &err, sizeof(err))) < 0 && errno == EINTR) {
  }
  if (n == sizeof(err)) return Error::System("exec " + bin, err);
  return Ok();
}

}  // namespace

Result<std::string> BerthdRequest(const Paths& paths, const std::string& method,
                                  const std::string& path, int timeout_ms) {
  BERTH_ASSIGN_OR_RETURN(sys::Fd fd, Connect(paths, timeout_ms));
  std::string req = method + " " + path + " HTTP/1.0\r\nHost: berthd\r\nContent-Length: 0\r\n\r\n";
  size_t off = 0;
  while (off < req.size()) {
    ssize_t n = ::send(fd.get(), req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::System("send to berthd", errno);
    off += static_cast<size_t>(n);
  }
  std::string resp;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return Error(Code::kUnavailable, "berthd did not answer " + path + ": " +
                                           std::strerror(errno), errno);
    }
    if (n == 0) break;
    resp.append(buf, static_cast<size_t>(n));
  }
  size_t sp = resp.find(' ');
  size_t body = resp.find("\r\n\r\n");
  if (sp == std::string::npos || body == std::string::npos) {
    return Error(Code::kUnavailable, "berthd sent a malformed response to " + path);
  }
  std::string content = resp.substr(body + 4);
  if (resp.compare(sp + 1, 3, "200") != 0) {
    return Error::Internal("berthd " + path + ": " + resp.substr(sp + 1, resp.find('\r') - sp - 1) +
                           ": " + content);
  }
  return content;
}

Status AskBerthdToReload(const Paths& paths) {
  BERTH_ASSIGN_OR_RETURN(sys::Fd fd, Connect(paths, 1000));
  static const char kReq[] = "POST /v1/reload HTTP/1.0\r\nHost: berthd\r\nContent-Length: 0\r\n\r\n";
  if (::send(fd.get(), kReq, sizeof(kReq) - 1, MSG_NOSIGNAL) != sizeof(kReq) - 1) {
    return Error::System("send to berthd", errno);
  }
  return Ok();
}

Status ReloadBerthd(const Paths& paths, int timeout_ms) {
  auto r = BerthdRequest(paths, "POST", "/v1/reload", timeout_ms);
  if (!r.ok()) return std::move(r).error();
  return Ok();
}

Status EnsureBerthd(const Paths& paths, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  Status st = ReloadBerthd(paths);
  if (st.ok() || st.error().code() != Code::kUnavailable) return st;
  BERTH_TRY_CTX(SpawnBerthd(paths), "start berthd");
  // A concurrent berth may have started one too: only one wins the pid-file lock, and both of
  // us then talk to the winner.
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    st = ReloadBerthd(paths);
    if (st.ok() || st.error().code() != Code::kUnavailable) return st;
  }
  return Error(Code::kUnavailable, "berthd (" + BerthdBinary() + ") did not come up within " +
                                       std::to_string(timeout_ms) + " ms; see " +
                                       paths.berthd_log());
}

std::string BerthdBinary() {
  if (const char* env = std::getenv("BERTHD_BIN"); env && *env) return env;
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    std::string dir(self, static_cast<size_t>(n));
    dir = dir.substr(0, dir.rfind('/'));
    std::string beside = dir + "/berthd";
    if (::access(beside.c_str(), X_OK) == 0) return beside;
  }
  return "berthd";
}

std::unique_ptr<ChangeNotifier> MakeBerthdNotifier(const Paths& paths) {
  return std::make_unique<BerthdNotifier>(paths);
}

}  // namespace berth::engine
