#include "dns/server.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>

#include "core/log.h"
#include "sys/sockaddr.h"

namespace berth::dns {

namespace {

// Per-socket receive buffer: room for bursts while a worker is busy elsewhere.
constexpr int kRcvBuf = 4 << 20;

Result<sys::Fd> OpenSocket(const IpAddr& addr, uint16_t port, int type) {
  int family = addr.is_v4() ? AF_INET : AF_INET6;
  sys::Fd fd(::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Error::System("socket", errno);
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (type == SOCK_DGRAM) {
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
      return Error::System("SO_REUSEPORT", errno);
    }
    int size = kRcvBuf;
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0) {
      ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    }
  }
  // Bind even when the address is not (yet) on an interface: the bridge may be re-created.
  if (family == AF_INET) {
    ::setsockopt(fd.get(), IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
  } else {
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
  }
  sockaddr_storage ss;
  socklen_t len = sys::ToSockaddr(addr, port, &ss);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return Error::System("bind " + addr.ToString() + " port " + std::to_string(port), errno);
  }
  if (type == SOCK_STREAM && ::listen(fd.get(), 128) != 0) {
    return Error::System("listen", errno);
  }
  return fd;
}

// True when `ip` is one of this host's own addresses (binding to it works without FREEBIND).
bool IsLocalAddress(const IpAddr& ip) {
  sys::Fd fd(::socket(ip.is_v4() ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  sockaddr_storage ss;
  socklen_t len = sys::ToSockaddr(ip, 0, &ss);
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) == 0;
}

using Clock = std::chrono::steady_clock;

enum class Io { kOk, kClosed, kTimeout };

// Waits for `events` on a non-blocking socket until `deadline`.
Io WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (ms <= 0) return Io::kTimeout;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(ms));
    if (n > 0) return Io::kOk;
    if (n == 0) return Io::kTimeout;
    if (errno != EINTR) return Io::kClosed;
  }
}

// Reads exactly n bytes before `deadline`: a client trickling bytes gains no time by it.
Io ReadFull(int fd, void* buf, size_t n, Clock::time_point deadline) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t r = ::recv(fd, p, n, 0);
    if (r > 0) {
      p += r;
      n -= static_cast<size_t>(r);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (Io io = WaitFor(fd, POLLIN, deadline); io != Io::kOk) return io;
      continue;
    }
    return Io::kClosed;
  }
  return Io::kOk;
}

bool WriteFull(int fd, const void* buf, size_t n, Clock::time_point deadline) {
  auto* p = static_cast<const char*>(buf);
  while (n > 0) {
    ssize_t r = ::send(fd, p, n, MSG_NOSIGNAL);
    if (r > 0) {
      p += r;
      n -= static_cast<size_t>(r);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
        WaitFor(fd, POLLOUT, deadline) == Io::kOk) {
      continue;
    }
    return false;
  }
  return true;
}

// Whether queries from `source` to the listener at `local` get answers at all (Respond's
// rule): a container of a DNS network, or the host asking a gateway of one.
bool Served(const Table& table, const IpAddr& source, const IpAddr& local) {
  if (!table.RequesterNetworks(source).empty()) return true;
  return table.GatewayNetwork(local) >= 0 && IsLocalAddress(source);
}

}  // namespace

struct Server::Listener {
  IpAddr addr;
  std::vector<sys::Fd> udp;  // one per worker
  sys::Fd tcp;
  uint64_t tcp_id = 0;
};

// One UDP worker: its sockets, its buffers, its counters.
struct Server::Worker {
  struct Socket {
    std::shared_ptr<Listener> listener;
    int fd;
  };
  struct Command {
    bool add;
    std::shared_ptr<Listener> listener;
  };

  Server* server = nullptr;
  int index = 0;
  int batch = 64;
  sys::Fd epoll, wake;
  std::thread thread;
  std::mutex mu;
  std::vector<Command> commands;  // guarded by mu
  std::vector<std::unique_ptr<Socket>> sockets;

  // Preallocated per batch: receive and send buffers, message headers, addresses.
  std::vector<std::array<uint8_t, kMaxUdpPayload>> rx, tx;
  std::vector<mmsghdr> rx_msgs, tx_msgs;
  std::vector<iovec> rx_iov, tx_iov;
  std::vector<sockaddr_storage> names;
  Query query;
  uint32_t rotation = 0;
  int64_t spin_ns = 0;
  static constexpr int kSpinAfter = 4;  // queries in this wake-up that count as "under load"

  // Counters, written by this worker only (relaxed), read by Stats().
  std::atomic<uint64_t> queries{0}, answered{0}, refused{0}, formerr{0}, truncated{0},
      send_errors{0};
  QueryCounters local;  // answers given here (forwarded ones: the server's udp_forwarded_)

  void Init() {
    size_t n = static_cast<size_t>(batch);
    rx.resize(n);
    tx.resize(n);
    rx_msgs.resize(n);
    tx_msgs.resize(n);
    rx_iov.resize(n);
    tx_iov.resize(n);
    names.resize(n);
    rotation = static_cast<uint32_t>(index) * 7919u;
  }

  void Post(Command c) {
    {
      std::lock_guard<std::mutex> lock(mu);
      commands.push_back(std::move(c));
    }
    uint64_t one = 1;
    ssize_t ignored = ::write(wake.get(), &one, sizeof(one));
    (void)ignored;
  }

  void ApplyCommands() {
    uint64_t v;
    ssize_t ignored = ::read(wake.get(), &v, sizeof(v));
    (void)ignored;
    std::vector<Command> todo;
    {
      std::lock_guard<std::mutex> lock(mu);
      todo.swap(commands);
    }
    for (Command& c : todo) {
      if (c.add) {
        auto s = std::make_unique<Socket>();
        s->listener = c.listener;
        s->fd = c.listener->udp[static_cast<size_t>(index)].get();
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = s.get();
        if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, s->fd, &ev) == 0) {
          sockets.push_back(std::move(s));
        }
      } else {
        for (auto it = sockets.begin(); it != sockets.end(); ++it) {
          if ((*it)->listener == c.listener) {
            ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, (*it)->fd, nullptr);
            sockets.erase(it);
            break;
          }
        }
      }
    }
  }

  void Run() {
    epoll_event evs[32];
    while (!server->stopping_.load(std::memory_order_relaxed)) {
      int n = ::epoll_wait(epoll.get(), evs, 32, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        log::Error("worker epoll_wait failed", {{"error", strerror(errno)}});
        return;
      }
      for (int i = 0; i < n; ++i) {
        if (evs[i].data.ptr == nullptr) {
          ApplyCommands();
          continue;
        }
        Serve(*static_cast<Socket*>(evs[i].data.ptr));
      }
    }
  }

  // Drains a readable socket, a batch at a time (bounded, so other sockets get their turn).
  void Serve(Socket& s) {
    int total = 0;
    for (int round = 0; round < 16; ++round) {
      for (int i = 0; i < batch; ++i) {
        rx_iov[i] = {rx[i].data(), rx[i].size()};
        msghdr& h = rx_msgs[i].msg_hdr;
        h.msg_name = &names[i];
        h.msg_namelen = sizeof(sockaddr_storage);
        h.msg_iov = &rx_iov[i];
        h.msg_iovlen = 1;
        h.msg_control = nullptr;
        h.msg_controllen = 0;
        h.msg_flags = 0;
      }
      int n = ::recvmmsg(s.fd, rx_msgs.data(), static_cast<unsigned>(batch), MSG_DONTWAIT,
                         nullptr);
      if (n <= 0 && spin_ns > 0 && total >= kSpinAfter) {
        // Under load the next query is microseconds away: wait for it awake, rather than
        // pay for going to sleep and being woken (the largest cost after the kernel's own
        // delivery of our answers). Only after a busy wake-up, so an idle server never spins.
        auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(spin_ns);
        do {
          n = ::recvmmsg(s.fd, rx_msgs.data(), static_cast<unsigned>(batch), MSG_DONTWAIT,
                         nullptr);
        } while (n <= 0 && std::chrono::steady_clock::now() < deadline);
      }
      if (n <= 0) return;
      total += n;
      // One clock read per batch, not per query: every answer of a batch leaves together.
      auto received = Clock::now();
      std::shared_ptr<const Table> table = server->table_.load(std::memory_order_acquire);
      int out = 0;
      for (int i = 0; i < n; ++i) Handle(s, *table, i, &out, received);
      Send(s.fd, out);
      if (out > 0) {
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - received);
        local.Took(static_cast<uint64_t>(ns.count()), static_cast<uint64_t>(out));
      }
      queries.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
      // Go on until the socket is empty: under load more queries arrived while we answered,
      // and fetching them now saves a trip through epoll_wait.
    }
  }

  void Handle(Socket& s, const Table& table, int i, int* out, Clock::time_point received) {
    msghdr& h = rx_msgs[i].msg_hdr;
    size_t len = rx_msgs[i].msg_len;
    if (h.msg_flags & MSG_TRUNC) len = 0;  // larger than any query: treat as a runt (dropped)
    Requester who;
    who.source = sys::FromSockaddr(names[i]);
    who.local = s.listener->addr;
    // Not a container of ours: maybe the host itself (a query from one of its own addresses).
    // Only strangers pay for this check, never containers.
    if (table.RequesterNetworks(who.source).empty()) who.from_host = IsLocalAddress(who.source);
    std::string_view packet(reinterpret_cast<const char*>(rx[i].data()), len);
    ParseResult pr = ParseQuery(packet, &query);
    ResponseWriter w(tx[*out].data(), query.UdpLimit());
    Verdict v = Respond(table, query, pr, who, rotation++, w);
    if (v == Verdict::kDrop) return;
    if (v == Verdict::kForward) {
      server->SubmitForward(packet, query, s.listener, index, names[i], h.msg_namelen, received);
      return;
    }
    size_t n = w.Finish();
    answered.fetch_add(1, std::memory_order_relaxed);
    if (w.truncated()) truncated.fetch_add(1, std::memory_order_relaxed);
    uint8_t rcode = tx[*out][3] & 0xf;
    local.Answered(query.question_parsed ? query.qtype : 0, rcode);
    if (rcode == static_cast<uint8_t>(Rcode::kRefused)) {
      refused.fetch_add(1, std::memory_order_relaxed);
    }
    if (pr == ParseResult::kFormErr) formerr.fetch_add(1, std::memory_order_relaxed);
    tx_iov[*out] = {tx[*out].data(), n};
    msghdr& o = tx_msgs[*out].msg_hdr;
    o = {};
    o.msg_name = &names[i];
    o.msg_namelen = h.msg_namelen;
    o.msg_iov = &tx_iov[*out];
    o.msg_iovlen = 1;
    ++*out;
  }

  void Send(int fd, int count) {
    int sent = 0;
    while (sent < count) {
      int r = ::sendmmsg(fd, tx_msgs.data() + sent, static_cast<unsigned>(count - sent),
                         MSG_DONTWAIT);
      if (r > 0) {
        sent += r;
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      // One bad destination (or a full buffer) must not hold up the others: skip it.
      send_errors.fetch_add(1, std::memory_order_relaxed);
      ++sent;
    }
  }
};

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& opts) {
  std::unique_ptr<Server> s(new Server(opts));
  s->table_.store(Table::Empty());
  BERTH_ASSIGN_OR_RETURN(s->forwarder_, Forwarder::Start(opts.forwarder));

  int workers = opts.workers;
  if (workers <= 0) {
    long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
    workers = static_cast<int>(std::clamp<long>(cpus, 1, 4));
  }
  for (int i = 0; i < workers; ++i) {
    auto w = std::make_unique<Worker>();
    w->server = s.get();
    w->index = i;
    w->batch = std::clamp(opts.batch, 1, 1024);
    w->spin_ns = static_cast<int64_t>(std::max(0, opts.busy_poll_us)) * 1000;
    w->Init();
    w->epoll = sys::Fd(::epoll_create1(EPOLL_CLOEXEC));
    w->wake = sys::Fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!w->epoll.valid() || !w->wake.valid()) return Error::System("epoll/eventfd", errno);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;
    ::epoll_ctl(w->epoll.get(), EPOLL_CTL_ADD, w->wake.get(), &ev);
    s->workers_.push_back(std::move(w));
  }
  s->accept_epoll_ = sys::Fd(::epoll_create1(EPOLL_CLOEXEC));
  s->accept_wake_ = sys::Fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!s->accept_epoll_.valid() || !s->accept_wake_.valid()) {
    return Error::System("epoll/eventfd", errno);
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;
  ::epoll_ctl(s->accept_epoll_.get(), EPOLL_CTL_ADD, s->accept_wake_.get(), &ev);

  for (auto& w : s->workers_) w->thread = std::thread([p = w.get()] { p->Run(); });
  s->acceptor_ = std::thread([p = s.get()] { p->AcceptLoop(); });
  return s;
}

Server::Server(const ServerOptions& opts) : opts_(opts) {}

Server::~Server() { Stop(); }

void Server::Stop() {
  if (stopping_.exchange(true)) return;
  uint64_t one = 1;
  for (auto& w : workers_) {
    ssize_t ignored = ::write(w->wake.get(), &one, sizeof(one));
    (void)ignored;
  }
  ssize_t ignored = ::write(accept_wake_.get(), &one, sizeof(one));
  (void)ignored;
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
  if (acceptor_.joinable()) acceptor_.join();
  {
    // Wake connection threads blocked in recv, and wait for them to go.
    std::unique_lock<std::mutex> lock(tcp_mu_);
    for (int fd : tcp_conns_) ::shutdown(fd, SHUT_RDWR);
    tcp_cv_.wait_for(lock, std::chrono::seconds(5), [&] { return tcp_conns_.empty(); });
  }
  forwarder_->Stop();
  std::lock_guard<std::mutex> lock(mu_);
  listeners_.clear();
  by_tcp_id_.clear();
}

void Server::Publish(std::shared_ptr<const Table> table) {
  table_.store(std::move(table), std::memory_order_release);
}

std::vector<std::pair<IpAddr, Error>> Server::SetListeners(const std::vector<IpAddr>& addrs) {
  std::vector<std::pair<IpAddr, Error>> failed;
  std::set<IpAddr> want(addrs.begin(), addrs.end());
  std::vector<std::shared_ptr<Listener>> removed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = listeners_.begin(); it != listeners_.end();) {
      if (want.count(it->first)) {
        ++it;
        continue;
      }
      removed.push_back(it->second);
      by_tcp_id_.erase(it->second->tcp_id);
      it = listeners_.erase(it);
    }
  }
  for (auto& l : removed) {
    ::epoll_ctl(accept_epoll_.get(), EPOLL_CTL_DEL, l->tcp.get(), nullptr);
    for (auto& w : workers_) w->Post({false, l});
    log::Info("stopped listening", {{"addr", l->addr.ToString()}});
  }
  for (const IpAddr& addr : want) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (listeners_.count(addr)) continue;
    }
    auto l = std::make_shared<Listener>();
    l->addr = addr;
    Status st = Ok();
    for (size_t i = 0; i < workers_.size() && st.ok(); ++i) {
      auto fd = OpenSocket(addr, opts_.port, SOCK_DGRAM);
      if (!fd.ok()) {
        st = std::move(fd).error();
        break;
      }
      l->udp.push_back(std::move(*fd));
    }
    if (st.ok()) {
      auto fd = OpenSocket(addr, opts_.port, SOCK_STREAM);
      if (fd.ok()) {
        l->tcp = std::move(*fd);
      } else {
        st = std::move(fd).error();
      }
    }
    if (!st.ok()) {
      failed.emplace_back(addr, st.error());
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      l->tcp_id = next_tcp_id_++;
      listeners_[addr] = l;
      by_tcp_id_[l->tcp_id] = l;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = l->tcp_id;
    ::epoll_ctl(accept_epoll_.get(), EPOLL_CTL_ADD, l->tcp.get(), &ev);
    for (auto& w : workers_) w->Post({true, l});
    log::Info("listening", {{"addr", addr.ToString()},
                            {"port", std::to_string(opts_.port)},
                            {"proto", "udp+tcp"},
                            {"udp_sockets", std::to_string(workers_.size())}});
  }
  return failed;
}

std::vector<IpAddr> Server::Listening() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<IpAddr> out;
  for (const auto& [addr, l] : listeners_) out.push_back(addr);
  return out;
}

void QueryCounters::Took(uint64_t ns, uint64_t count) {
  size_t i = 0;
  while (i < std::size(kLatencyBoundsNs) && ns > kLatencyBoundsNs[i]) ++i;
  latency[i].fetch_add(count, std::memory_order_relaxed);
  latency_sum_ns.fetch_add(ns * count, std::memory_order_relaxed);
}

namespace {

void AddTo(const QueryCounters& c, std::array<uint64_t, kQtypeSlots * kRcodeSlots>* by_type_rcode,
           LatencyStats* latency) {
  for (size_t i = 0; i < by_type_rcode->size(); ++i) {
    (*by_type_rcode)[i] += c.by_type_rcode[i].load(std::memory_order_relaxed);
  }
  for (size_t i = 0; i < kLatencyBuckets; ++i) {
    latency->buckets[i] += c.latency[i].load(std::memory_order_relaxed);
  }
  latency->sum_ns += c.latency_sum_ns.load(std::memory_order_relaxed);
}

}  // namespace

size_t QtypeSlot(uint16_t qtype) {
  switch (qtype) {
    case type::kA: return 0;
    case type::kAaaa: return 1;
    case type::kPtr: return 2;
    default: return 3;
  }
}

ServerStats Server::Stats() const {
  ServerStats s;
  for (const auto& w : workers_) {
    s.udp_queries += w->queries.load(std::memory_order_relaxed);
    s.answered += w->answered.load(std::memory_order_relaxed);
    s.refused += w->refused.load(std::memory_order_relaxed);
    s.formerr += w->formerr.load(std::memory_order_relaxed);
    s.truncated += w->truncated.load(std::memory_order_relaxed);
    s.send_errors += w->send_errors.load(std::memory_order_relaxed);
    AddTo(w->local, &s.by_type_rcode, &s.latency[static_cast<size_t>(QueryPath::kUdpLocal)]);
  }
  AddTo(udp_forwarded_, &s.by_type_rcode, &s.latency[static_cast<size_t>(QueryPath::kUdpForwarded)]);
  AddTo(tcp_local_, &s.tcp_by_type_rcode, &s.latency[static_cast<size_t>(QueryPath::kTcpLocal)]);
  AddTo(tcp_forwarded_, &s.tcp_by_type_rcode, &s.latency[static_cast<size_t>(QueryPath::kTcpForwarded)]);
  s.tcp_queries = tcp_queries_.load(std::memory_order_relaxed);
  s.tcp_rejected = tcp_rejected_.load(std::memory_order_relaxed);
  s.tcp_timeouts = tcp_timeouts_.load(std::memory_order_relaxed);
  s.forwarder = forwarder_->Stats();
  return s;
}

void Server::SubmitForward(std::string_view query, const Query& q,
                           std::shared_ptr<Listener> listener, int worker,
                           const sockaddr_storage& client, uint32_t client_len,
                           std::chrono::steady_clock::time_point received) {
  size_t limit = q.UdpLimit();
  // The forwarder stops (in Stop) before this server goes: `this` outlives every callback.
  auto reply_to = [this, listener, worker, client, client_len, limit, q,
                   received](std::string_view reply) {
    int fd = listener->udp[static_cast<size_t>(worker)].get();
    uint8_t buf[kMinUdpPayload];
    if (reply.size() > limit) {  // too big for this client's UDP: tell it to use TCP
      ResponseWriter w(buf, sizeof(buf));
      w.Begin(q, static_cast<Rcode>(static_cast<uint8_t>(reply[3]) & 0xf), false);
      w.Truncate();
      size_t n = w.Finish();
      reply = std::string_view(reinterpret_cast<char*>(buf), n);
    }
    ::sendto(fd, reply.data(), reply.size(), MSG_DONTWAIT,
             reinterpret_cast<const sockaddr*>(&client), client_len);
    if (reply.size() >= 4) {
      udp_forwarded_.Answered(q.question_parsed ? q.qtype : 0, static_cast<uint8_t>(reply[3]));
    }
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - received);
    udp_forwarded_.Took(static_cast<uint64_t>(ns.count()));
  };
  if (!forwarder_->Submit(query, reply_to)) {
    uint8_t buf[kMinUdpPayload];
    size_t n = WriteError(q, Rcode::kServFail, true, buf, sizeof(buf));
    reply_to(std::string_view(reinterpret_cast<char*>(buf), n));
  }
}

void Server::AcceptLoop() {
  epoll_event evs[16];
  while (!stopping_.load()) {
    int n = ::epoll_wait(accept_epoll_.get(), evs, 16, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < n; ++i) {
      uint64_t id = evs[i].data.u64;
      if (id == 0) {
        uint64_t v;
        ssize_t ignored = ::read(accept_wake_.get(), &v, sizeof(v));
        (void)ignored;
        continue;
      }
      std::shared_ptr<Listener> l;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = by_tcp_id_.find(id);
        if (it != by_tcp_id_.end()) l = it->second;
      }
      if (!l) continue;
      AcceptTcp(l);
    }
  }
}

void Server::AcceptTcp(const std::shared_ptr<Listener>& l) {
  for (;;) {
    sockaddr_storage peer{};
    socklen_t plen = sizeof(peer);
    int fd = ::accept4(l->tcp.get(), reinterpret_cast<sockaddr*>(&peer), &plen,
                       SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    IpAddr source = sys::FromSockaddr(peer);
    // Someone we would only refuse gets no thread and no slot: closed before reading a byte.
    if (!Served(*table_.load(std::memory_order_acquire), source, l->addr)) {
      tcp_rejected_.fetch_add(1, std::memory_order_relaxed);
      ::close(fd);
      continue;
    }
    std::lock_guard<std::mutex> lock(tcp_mu_);
    int& mine = tcp_per_source_[source];
    if (static_cast<int>(tcp_conns_.size()) >= kMaxTcpConnections ||
        mine >= std::max(1, opts_.tcp_per_source) || stopping_.load()) {
      if (mine == 0) tcp_per_source_.erase(source);
      tcp_rejected_.fetch_add(1, std::memory_order_relaxed);
      ::close(fd);
      continue;
    }
    ++mine;
    tcp_conns_.insert(fd);
    std::thread([this, fd, source, l] { ServeTcp(fd, source, l); }).detach();
  }
}

void Server::ServeTcp(int fd, IpAddr source, std::shared_ptr<Listener> listener) {
  const auto idle = std::chrono::milliseconds(std::max(1, opts_.tcp_idle_ms));
  Requester who;
  who.source = source;
  who.local = listener->addr;
  bool from_host_checked = false;
  std::vector<uint8_t> in(kMaxTcpMessage), out(kMaxTcpMessage + 2);
  auto query = std::make_unique<Query>();
  uint32_t rotation = 0;
  for (;;) {
    // The whole query, length prefix included, within `idle` of the connect or the last answer.
    auto deadline = Clock::now() + idle;
    uint8_t lenbuf[2];
    Io io = ReadFull(fd, lenbuf, 2, deadline);
    size_t len = Load16(lenbuf);
    if (io == Io::kOk) io = ReadFull(fd, in.data(), len, deadline);
    if (io == Io::kTimeout) tcp_timeouts_.fetch_add(1, std::memory_order_relaxed);
    if (io != Io::kOk) break;
    tcp_queries_.fetch_add(1, std::memory_order_relaxed);
    auto received = Clock::now();
    std::shared_ptr<const Table> table = table_.load(std::memory_order_acquire);
    if (!from_host_checked && table->RequesterNetworks(who.source).empty()) {
      who.from_host = IsLocalAddress(who.source);
      from_host_checked = true;
    }
    std::string_view packet(reinterpret_cast<const char*>(in.data()), len);
    ParseResult pr = ParseQuery(packet, query.get());
    ResponseWriter w(out.data() + 2, kMaxTcpMessage);
    Verdict v = Respond(*table, *query, pr, who, rotation++, w);
    // Not a query (a runt, a response): over UDP it is ignored; over TCP it would otherwise be
    // a way to keep a connection (and its slot) forever with two bytes at a time.
    if (v == Verdict::kDrop) break;
    std::string forwarded;
    std::string_view reply;
    if (v == Verdict::kForward) {
      auto promise = std::make_shared<std::promise<std::string>>();
      auto future = promise->get_future();
      if (!forwarder_->Submit(packet,
                              [promise](std::string_view r) { promise->set_value(std::string(r)); })) {
        size_t n = WriteError(*query, Rcode::kServFail, true, out.data() + 2, kMaxTcpMessage);
        reply = std::string_view(reinterpret_cast<char*>(out.data() + 2), n);
      } else {
        int wait_ms = opts_.forwarder.attempt_timeout_ms * 8 + 1000;
        if (future.wait_for(std::chrono::milliseconds(wait_ms)) != std::future_status::ready) {
          break;
        }
        forwarded = future.get();
        reply = forwarded;
      }
    } else {
      size_t n = w.Finish();
      reply = std::string_view(reinterpret_cast<char*>(out.data() + 2), n);
    }
    uint8_t hdr[2];
    Store16(hdr, static_cast<uint16_t>(reply.size()));
    auto send_by = Clock::now() + idle;
    if (!WriteFull(fd, hdr, 2, send_by) || !WriteFull(fd, reply.data(), reply.size(), send_by)) {
      break;
    }
    QueryCounters& counted = v == Verdict::kForward ? tcp_forwarded_ : tcp_local_;
    if (reply.size() >= 4) {
      counted.Answered(query->question_parsed ? query->qtype : 0, static_cast<uint8_t>(reply[3]));
    }
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - received);
    counted.Took(static_cast<uint64_t>(ns.count()));
    // Refused (the container left its network meanwhile): nothing more to say to it.
    if (v == Verdict::kAnswer && !Served(*table, who.source, who.local)) break;
  }
  // Under the lock: Stop() must never shut down a number that was closed and reused.
  std::lock_guard<std::mutex> lock(tcp_mu_);
  if (auto it = tcp_per_source_.find(source); it != tcp_per_source_.end() && --it->second <= 0) {
    tcp_per_source_.erase(it);
  }
  tcp_conns_.erase(fd);
  ::close(fd);
  tcp_cv_.notify_all();
}

}  // namespace berth::dns
