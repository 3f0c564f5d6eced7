#include "api/server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

namespace berth::api {

namespace {

using Clock = std::chrono::steady_clock;

int MsLeft(Clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return ms < 0 ? 0 : static_cast<int>(ms);
}

// Writes all of `data` before `deadline`; false when the client went away or is too slow.
bool SendAll(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      int left = MsLeft(deadline);
      if (left == 0 || ::poll(&p, 1, left) <= 0) return false;
      continue;
    }
    return false;  // a client that did not wait for the answer (fire-and-forget notices)
  }
  return true;
}

}  // namespace

void Routes::Add(std::string method, std::string path, Handler h) {
  routes_.push_back({{std::move(method), std::move(path)}, std::move(h)});
}

std::vector<std::string> Routes::Endpoints() const {
  std::vector<std::string> out;
  for (const auto& [key, h] : routes_) out.push_back(key.first + " " + key.second);
  return out;
}

HttpResponse JsonError(int status, std::string_view message) {
  return {status, nlohmann::json{{"error", message}}.dump() + "\n"};
}

HttpResponse Routes::Dispatch(const HttpRequest& r) const {
  std::string allow;
  for (const auto& [key, h] : routes_) {
    if (key.second != r.path) continue;
    if (key.first == r.method) return h(r);
    allow += (allow.empty() ? "" : ", ") + key.first;
  }
  nlohmann::json body = {{"error", "no such endpoint: " + r.method + " " + r.path},
                         {"endpoints", Endpoints()}};
  HttpResponse resp{allow.empty() ? 404 : 405, body.dump() + "\n"};
  if (!allow.empty()) resp.headers.emplace_back("Allow", allow);
  return resp;
}

Result<sys::Fd> ListenUnix(const std::string& path, int mode, int backlog) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return Error::Invalid("socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ::unlink(path.c_str());
  sys::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return Error::System("socket", errno);
  // Never a moment with looser permissions than asked: bind under a umask that yields `mode`.
  mode_t old = ::umask(static_cast<mode_t>(~mode & 0777));
  int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int err = errno;
  ::umask(old);
  if (rc != 0) return Error::System("bind " + path, err);
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    return Error::System("chmod " + path, errno);
  }
  if (::listen(fd.get(), backlog) != 0) return Error::System("listen " + path, errno);
  return fd;
}

Server::Server(sys::Fd listener, Routes routes, ServerOptions opts)
    : listener_(std::move(listener)), routes_(std::move(routes)), opts_(opts) {}

Result<std::unique_ptr<Server>> Server::Start(sys::Fd listener, Routes routes, ServerOptions opts) {
  if (!listener.valid()) return Error::Invalid("API server: no listening socket");
  int flags = ::fcntl(listener.get(), F_GETFL);
  if (flags < 0 || ::fcntl(listener.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    return Error::System("fcntl O_NONBLOCK", errno);
  }
  std::unique_ptr<Server> s(new Server(std::move(listener), std::move(routes), opts));
  s->wake_ = sys::Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!s->wake_.valid()) return Error::System("eventfd", errno);
  s->acceptor_ = std::thread([p = s.get()] { p->AcceptLoop(); });
  return s;
}

Server::~Server() { Stop(); }

void Server::Stop() {
  if (stopping_.exchange(true)) return;
  uint64_t one = 1;
  ssize_t ignored = ::write(wake_.get(), &one, sizeof(one));
  (void)ignored;
  if (acceptor_.joinable()) acceptor_.join();
  listener_.Reset();
  std::unique_lock<std::mutex> lock(mu_);
  // Wake connections waiting for bytes; a handler that runs finishes first.
  for (int fd : conns_) ::shutdown(fd, SHUT_RDWR);
  cv_.wait(lock, [&] { return conns_.empty(); });
}

int Server::active() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(conns_.size());
}

void Server::AcceptLoop() {
  while (!stopping_.load()) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    for (;;) {
      int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) break;
      std::unique_lock<std::mutex> lock(mu_);
      if (static_cast<int>(conns_.size()) >= opts_.max_connections) {
        lock.unlock();
        // Busy: say so at once instead of queueing behind slow clients.
        std::string resp = FormatResponse(JsonError(503, "too many API connections"));
        ssize_t ignored = ::send(fd, resp.data(), resp.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)ignored;
        ::close(fd);
        continue;
      }
      conns_.insert(fd);
      lock.unlock();
      std::thread([this, fd] { Serve(fd); }).detach();
    }
  }
}

void Server::Serve(int fd) {
  auto deadline = Clock::now() + std::chrono::milliseconds(opts_.request_timeout_ms);
  std::string buf;
  HttpRequest req;
  ParseError perr;
  ParseState state = ParseState::kIncomplete;
  char chunk[4096];
  while (state == ParseState::kIncomplete) {
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n > 0) {
      buf.append(chunk, static_cast<size_t>(n));
      size_t used = 0;
      state = ParseRequest(buf, opts_.limits, &req, &used, &perr);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLIN, 0};
      int left = MsLeft(deadline);
      if (left > 0 && ::poll(&p, 1, left) > 0) continue;
      if (!buf.empty())
        perr = {408, "no whole request within " + std::to_string(opts_.request_timeout_ms) + " ms"};
    }
    break;  // closed, failed, or too slow
  }
  if (!stopping_.load()) {
    HttpResponse resp;
    bool answer = true;
    if (state == ParseState::kDone) {
      try {
        resp = routes_.Dispatch(req);
      } catch (const std::exception& e) {  // a handler's JSON or allocation failure
        resp = JsonError(500, e.what());
      }
    } else if (perr.status != 0) {
      resp = JsonError(perr.status, perr.why);
    } else {
      answer = false;  // the client closed, or connected and sent nothing: nothing to say
    }
    if (answer) {
      SendAll(fd, FormatResponse(resp, state == ParseState::kDone ? req.minor_version : 1),
              Clock::now() + std::chrono::milliseconds(opts_.send_timeout_ms));
    }
  }
  // Under the lock: Stop() must never shut down a number that was closed and reused.
  std::lock_guard<std::mutex> lock(mu_);
  conns_.erase(fd);
  ::close(fd);
  cv_.notify_all();
}

}  // namespace berth::api
