// Server: berthd's API, HTTP/1.1 over a unix socket (0600, root only), one request per
// connection. Routes are registered before Start; each maps METHOD + path to a handler.
//
// Concurrency: one acceptor thread; each connection is served by a thread of its own, at most
// `max_connections` at once (beyond that a client gets 503 at once). A client has
// `request_timeout_ms` from its connect to deliver a whole request, so one that connects and
// sends nothing, or trickles bytes, holds one thread for that long and delays nobody else.
// Handlers therefore run concurrently and must be thread-safe themselves.
//
// Stop() (or the destructor) closes the listener, wakes every connection and waits for the
// handlers that are running to return.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "api/http.h"
#include "core/error.h"
#include "sys/fd.h"

namespace berth::api {

using Handler = std::function<HttpResponse(const HttpRequest&)>;

/// METHOD + path -> handler. Unknown paths get 404, known paths with another method 405; both
/// list the endpoints in a JSON body.
class Routes {
 public:
  void Add(std::string method, std::string path, Handler h);
  HttpResponse Dispatch(const HttpRequest& r) const;
  /// "GET /v1/status", ... in registration order.
  std::vector<std::string> Endpoints() const;

 private:
  std::vector<std::pair<std::pair<std::string, std::string>, Handler>> routes_;
};

struct ServerOptions {
  int max_connections = 32;
  int request_timeout_ms = 2000;  // to deliver a whole request, from the connect
  int send_timeout_ms = 2000;     // to take the whole response
  Limits limits;
};

/// A JSON error body: {"error": message}.
HttpResponse JsonError(int status, std::string_view message);

/// A listening unix stream socket at `path` with `mode` (an old socket file there is replaced:
/// the caller holds the lock that makes it the only server of that path).
Result<sys::Fd> ListenUnix(const std::string& path, int mode = 0600, int backlog = 128);

class Server {
 public:
  static Result<std::unique_ptr<Server>> Start(sys::Fd listener, Routes routes,
                                               ServerOptions opts = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Idempotent.
  void Stop();

  /// Connections being served right now.
  int active() const;

 private:
  Server(sys::Fd listener, Routes routes, ServerOptions opts);
  void AcceptLoop();
  void Serve(int fd);

  sys::Fd listener_, wake_;
  Routes routes_;
  ServerOptions opts_;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::set<int> conns_;  // guarded by mu_
};

}  // namespace berth::api
