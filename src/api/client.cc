#include "api/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace berth::api {

namespace {

using Clock = std::chrono::steady_clock;

int MsLeft(Clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return ms < 0 ? 0 : static_cast<int>(ms);
}

// Waits for `events` on fd until `deadline`; false on timeout.
bool Wait(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int left = MsLeft(deadline);
    if (left == 0) return false;
    int n = ::poll(&p, 1, left);
    if (n > 0) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

Status SendAll(int fd, std::string_view data, Clock::time_point deadline,
               const std::string& socket) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && Wait(fd, POLLOUT, deadline)) {
      continue;
    }
    int err = n < 0 ? errno : EPIPE;
    return Error(Code::kUnavailable, "send to " + socket + ": " + std::strerror(err), err);
  }
  return Ok();
}

}  // namespace

Result<sys::Fd> Connect(const std::string& socket) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket.size() >= sizeof(addr.sun_path)) {
    return Error::Invalid("socket path too long: " + socket);
  }
  std::memcpy(addr.sun_path, socket.c_str(), socket.size() + 1);
  sys::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Error::System("socket", errno);
  // On a unix socket connect returns at once unless the backlog is full: then it waits, for at
  // most this long (EAGAIN), for a server that is alive but not accepting.
  timeval tv{1, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    if (err == ENOENT || err == ECONNREFUSED || err == EAGAIN) {
      return Error(Code::kUnavailable, "nobody serves " + socket + ": " + std::strerror(err), err);
    }
    return Error::System("connect to " + socket, err);
  }
  return fd;
}

bool Answers(const std::string& socket) { return Connect(socket).ok(); }

Result<HttpResponse> Request(const std::string& socket, std::string_view method,
                             std::string_view path, std::string_view body, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  BERTH_ASSIGN_OR_RETURN(sys::Fd fd, Connect(socket));
  BERTH_TRY(SendAll(fd.get(), FormatRequest(method, path, body), deadline, socket));
  std::string buf;
  char chunk[8192];
  HttpResponse resp;
  for (;;) {
    ssize_t n = ::recv(fd.get(), chunk, sizeof(chunk), MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (Wait(fd.get(), POLLIN, deadline)) continue;
      return Error(Code::kUnavailable, std::string(method) + " " + std::string(path) +
                                           ": no answer from " + socket + " within " +
                                           std::to_string(timeout_ms) + " ms");
    }
    if (n < 0) {
      return Error(Code::kUnavailable, "receive from " + socket + ": " + std::strerror(errno),
                   errno);
    }
    if (n > 0) buf.append(chunk, static_cast<size_t>(n));
    ParseState st = ParseResponse(buf, n == 0, &resp);
    if (st == ParseState::kDone) return resp;
    if (st != ParseState::kIncomplete) {
      return Error(Code::kUnavailable, std::string(method) + " " + std::string(path) +
                                           ": malformed response from " + socket);
    }
  }
}

Status Send(const std::string& socket, std::string_view method, std::string_view path,
            std::string_view body) {
  BERTH_ASSIGN_OR_RETURN(sys::Fd fd, Connect(socket));
  return SendAll(fd.get(), FormatRequest(method, path, body),
                 Clock::now() + std::chrono::milliseconds(1000), socket);
}

Result<std::string> BodyOf200(const HttpResponse& r, std::string_view what) {
  if (r.status == 200) return r.body;
  std::string body = r.body;
  while (!body.empty() && body.back() == '\n') body.pop_back();
  return Error::Internal(std::string(what) + ": " + std::to_string(r.status) + " " +
                         std::string(ReasonPhrase(r.status)) + ": " + body);
}

}  // namespace berth::api
