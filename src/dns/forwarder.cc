#include "dns/forwarder.h"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/log.h"
#include "core/resolv_conf.h"
#include "dns/wire.h"
#include "sys/sockaddr.h"

namespace berth::dns {

namespace {

using Clock = std::chrono::steady_clock;


// The question of a message as lowercase wire bytes plus type and class; empty when malformed.
std::string QuestionKey(std::string_view msg) {
  if (msg.size() < kHeaderSize) return {};
  if (Load16(reinterpret_cast<const uint8_t*>(msg.data()) + 4) != 1) return {};
  size_t pos = kHeaderSize;
  uint8_t name[kMaxNameWire];
  size_t n = ReadName(msg, &pos, name);
  if (n == 0 || pos + 4 > msg.size()) return {};
  std::string key(reinterpret_cast<char*>(name), n);
  for (char& c : key) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  key.append(msg.substr(pos, 4));
  return key;
}

}  // namespace

struct Forwarder::Job {
  std::string query;  // as sent upstream: our ID
  std::string question;
  uint16_t client_id = 0;
  uint16_t our_id = 0;
  Done done;
  std::vector<std::pair<IpAddr, uint16_t>> upstreams;
  size_t current = 0;  // index of the upstream being tried + 1 (0: none yet)
  bool tcp = false;
  bool connected = false;
  bool finished = false;
  sys::Fd fd;
  Clock::time_point deadline;
  std::string out;  // TCP: length-prefixed query
  size_t out_off = 0;
  std::string in;   // TCP: what came back so far
};

std::vector<IpAddr> ParseResolvConfNameservers(std::string_view text) {
  std::vector<IpAddr> out;
  for (const ResolvLine& line : ParseResolvConf(text)) {
    if (line.keyword != "nameserver") continue;
    auto ip = IpAddr::Parse(line.value.substr(0, line.value.find_first_of(" \t#;%")));
    if (ip.ok()) out.push_back(*ip);
  }
  return out;
}

Result<std::unique_ptr<Forwarder>> Forwarder::Start(const ForwarderOptions& opts) {
  std::unique_ptr<Forwarder> f(new Forwarder(opts));
  f->epoll_ = sys::Fd(::epoll_create1(EPOLL_CLOEXEC));
  if (!f->epoll_.valid()) return Error::System("epoll_create1", errno);
  f->wake_ = sys::Fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!f->wake_.valid()) return Error::System("eventfd", errno);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;
  if (::epoll_ctl(f->epoll_.get(), EPOLL_CTL_ADD, f->wake_.get(), &ev) != 0) {
    return Error::System("epoll_ctl", errno);
  }
  if (::getrandom(&f->rng_, sizeof(f->rng_), 0) != sizeof(f->rng_) || f->rng_ == 0) {
    f->rng_ = static_cast<uint64_t>(Clock::now().time_since_epoch().count()) | 1;
  }
  f->thread_ = std::thread([p = f.get()] { p->Run(); });
  return f;
}

Forwarder::Forwarder(const ForwarderOptions& opts) : opts_(opts) {}

Forwarder::~Forwarder() { Stop(); }

void Forwarder::Stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  uint64_t one = 1;
  ssize_t ignored = ::write(wake_.get(), &one, sizeof(one));
  (void)ignored;
  thread_.join();
}

void Forwarder::SetUpstreams(std::vector<std::pair<IpAddr, uint16_t>> upstreams) {
  std::lock_guard<std::mutex> lock(mu_);
  upstreams_ = std::move(upstreams);
}

std::vector<std::pair<IpAddr, uint16_t>> Forwarder::upstreams() const {
  std::lock_guard<std::mutex> lock(mu_);
  return upstreams_;
}

ForwarderStats Forwarder::Stats() const {
  return {forwarded_.load(), answered_.load(), tcp_retries_.load(), failed_.load()};
}

bool Forwarder::Submit(std::string_view query, Done done) {
  if (query.size() < kHeaderSize) return false;
  if (in_flight_.fetch_add(1) >= opts_.max_in_flight) {
    in_flight_.fetch_sub(1);
    return false;
  }
  auto job = std::make_unique<Job>();
  job->query = std::string(query);
  job->question = QuestionKey(query);
  job->client_id = Load16(reinterpret_cast<const uint8_t*>(query.data()));
  job->done = std::move(done);
  forwarded_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(mu_);
    job->upstreams = upstreams_;
    incoming_.push_back(std::move(job));
  }
  uint64_t one = 1;
  ssize_t ignored = ::write(wake_.get(), &one, sizeof(one));
  (void)ignored;
  return true;
}

bool Forwarder::NextUpstream(Job& j) {
  if (j.fd.valid()) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, j.fd.get(), nullptr);
  j.fd.Reset();
  while (j.current < j.upstreams.size()) {
    const auto& [ip, port] = j.upstreams[j.current++];
    j.tcp = false;
    // A fresh ID per attempt (xorshift64*), so a late answer to an earlier one is ignored.
    rng_ ^= rng_ >> 12;
    rng_ ^= rng_ << 25;
    rng_ ^= rng_ >> 27;
    j.our_id = static_cast<uint16_t>((rng_ * 2685821657736338717ull) >> 48);
    Store16(reinterpret_cast<uint8_t*>(j.query.data()), j.our_id);
    sockaddr_storage ss;
    socklen_t len = sys::ToSockaddr(ip, port, &ss);
    sys::Fd fd(::socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid() || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
        ::send(fd.get(), j.query.data(), j.query.size(), 0) < 0) {
      log::Debug("upstream send failed", {{"upstream", ip.ToString()}, {"error", strerror(errno)}});
      continue;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &j;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd.get(), &ev) != 0) continue;
    j.fd = std::move(fd);
    j.deadline = Clock::now() + std::chrono::milliseconds(opts_.attempt_timeout_ms);
    return true;
  }
  return false;
}

void Forwarder::StartAttempt(Job& j) {
  if (!NextUpstream(j)) Fail(j);
}

void Forwarder::Finish(Job& j, std::string_view reply) {
  std::string r(reply);
  Store16(reinterpret_cast<uint8_t*>(r.data()), j.client_id);
  answered_.fetch_add(1, std::memory_order_relaxed);
  j.finished = true;
  j.done(r);
}

void Forwarder::Fail(Job& j) {
  Query q;
  ParseQuery(j.query, &q);
  q.id = j.client_id;
  uint8_t buf[kMinUdpPayload];
  size_t n = WriteError(q, Rcode::kServFail, true, buf, sizeof(buf));
  failed_.fetch_add(1, std::memory_order_relaxed);
  j.finished = true;
  j.done(std::string_view(reinterpret_cast<char*>(buf), n));
}

void Forwarder::OnEvent(Job& j, uint32_t events) {
  auto valid = [&](std::string_view reply) {
    return reply.size() >= kHeaderSize &&
           Load16(reinterpret_cast<const uint8_t*>(reply.data())) == j.our_id &&
           (static_cast<uint8_t>(reply[2]) & 0x80) && QuestionKey(reply) == j.question;
  };
  auto attempt_failed = [&] {
    if (!NextUpstream(j)) Fail(j);
  };
  if (!j.tcp) {
    static thread_local std::vector<char> buf(kMaxTcpMessage);
    ssize_t n = ::recv(j.fd.get(), buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno != EAGAIN && errno != EINTR) attempt_failed();  // e.g. ICMP port unreachable
      return;
    }
    std::string_view reply(buf.data(), static_cast<size_t>(n));
    if (!valid(reply)) return;  // not for us (spoofed or late): keep waiting
    if (Load16(reinterpret_cast<const uint8_t*>(reply.data()) + 2) & kFlagTc) {
      // Truncated: the same upstream over TCP.
      tcp_retries_.fetch_add(1, std::memory_order_relaxed);
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, j.fd.get(), nullptr);
      const auto& [ip, port] = j.upstreams[j.current - 1];
      sockaddr_storage ss;
      socklen_t len = sys::ToSockaddr(ip, port, &ss);
      j.fd = sys::Fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      j.tcp = true;
      j.connected = false;
      j.in.clear();
      j.out.assign(2, '\0');
      Store16(reinterpret_cast<uint8_t*>(j.out.data()), static_cast<uint16_t>(j.query.size()));
      j.out += j.query;
      j.out_off = 0;
      epoll_event ev{};
      ev.events = EPOLLOUT | EPOLLIN;
      ev.data.ptr = &j;
      if (!j.fd.valid() ||
          (::connect(j.fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 &&
           errno != EINPROGRESS) ||
          ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, j.fd.get(), &ev) != 0) {
        attempt_failed();
        return;
      }
      j.deadline = Clock::now() + std::chrono::milliseconds(opts_.attempt_timeout_ms);
      return;
    }
    Finish(j, reply);
    return;
  }
  // TCP.
  if (!j.connected && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(j.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      attempt_failed();
      return;
    }
    j.connected = true;
  }
  if (j.connected && j.out_off < j.out.size()) {
    ssize_t n = ::send(j.fd.get(), j.out.data() + j.out_off, j.out.size() - j.out_off,
                       MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN) {
      attempt_failed();
      return;
    }
    if (n > 0) j.out_off += static_cast<size_t>(n);
    if (j.out_off == j.out.size()) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.ptr = &j;
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, j.fd.get(), &ev);
    }
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    char buf[16384];
    for (;;) {
      ssize_t n = ::recv(j.fd.get(), buf, sizeof(buf), 0);
      if (n > 0) {
        j.in.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      // EOF or error before a whole message.
      if (j.in.size() < 2 ||
          j.in.size() < 2u + Load16(reinterpret_cast<const uint8_t*>(j.in.data()))) {
        attempt_failed();
        return;
      }
      break;
    }
    if (j.in.size() >= 2) {
      size_t want = Load16(reinterpret_cast<const uint8_t*>(j.in.data()));
      if (j.in.size() >= 2 + want) {
        std::string_view reply(j.in.data() + 2, want);
        if (valid(reply)) {
          Finish(j, reply);
        } else {
          attempt_failed();
        }
      }
    }
  }
}

void Forwarder::Run() {
  epoll_event evs[64];
  while (!stop_.load()) {
    int timeout = -1;
    auto now = Clock::now();
    for (const auto& j : jobs_) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(j->deadline - now).count();
      int t = static_cast<int>(std::max<int64_t>(0, ms + 1));
      if (timeout < 0 || t < timeout) timeout = t;
    }
    int n = ::epoll_wait(epoll_.get(), evs, 64, timeout);
    if (n < 0 && errno != EINTR) {
      log::Error("forwarder epoll_wait failed", {{"error", strerror(errno)}});
      return;
    }
    for (int i = 0; i < n; ++i) {
      if (evs[i].data.ptr == nullptr) {
        uint64_t v;
        ssize_t ignored = ::read(wake_.get(), &v, sizeof(v));
        (void)ignored;
        std::vector<std::unique_ptr<Job>> fresh;
        {
          std::lock_guard<std::mutex> lock(mu_);
          fresh.swap(incoming_);
        }
        for (auto& j : fresh) {
          jobs_.push_back(std::move(j));
          StartAttempt(*jobs_.back());
        }
        continue;
      }
      Job* j = static_cast<Job*>(evs[i].data.ptr);
      if (!j->finished) OnEvent(*j, evs[i].events);
    }
    now = Clock::now();
    for (auto& j : jobs_) {
      if (!j->finished && j->deadline <= now) {
        log::Debug("upstream timed out",
                   {{"upstream", j->upstreams[j->current - 1].first.ToString()}});
        if (!NextUpstream(*j)) Fail(*j);
      }
    }
    size_t before = jobs_.size();
    for (auto& j : jobs_) {
      if (j->finished && j->fd.valid()) {
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, j->fd.get(), nullptr);
      }
    }
    std::erase_if(jobs_, [](const std::unique_ptr<Job>& j) { return j->finished; });
    in_flight_.fetch_sub(before - jobs_.size());
  }
}

}  // namespace berth::dns
