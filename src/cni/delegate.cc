#include "cni/delegate.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

extern char** environ;

namespace berth::cni {

namespace {

Error SpawnError(const std::string& what, int err) {
  return Error(Code::kSystem, what + ": " + std::strerror(err), err);
}

/// Feeds `in` to `to_child` while draining `from_out`/`from_err` (a large config and a chatty
/// plugin must not deadlock each other on full pipes).
void Pump(int to_child, int from_out, int from_err, std::string_view in, std::string* out,
          std::string* err) {
  size_t written = 0;
  if (in.empty()) {
    ::close(to_child);
    to_child = -1;
  }
  while (from_out >= 0 || from_err >= 0) {
    pollfd fds[3];
    int n = 0;
    int idx_in = -1, idx_out = -1, idx_err = -1;
    if (to_child >= 0) {
      fds[n] = {to_child, POLLOUT, 0};
      idx_in = n++;
    }
    if (from_out >= 0) {
      fds[n] = {from_out, POLLIN, 0};
      idx_out = n++;
    }
    if (from_err >= 0) {
      fds[n] = {from_err, POLLIN, 0};
      idx_err = n++;
    }
    if (::poll(fds, static_cast<nfds_t>(n), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (idx_in >= 0 && fds[idx_in].revents) {
      ssize_t w = ::write(to_child, in.data() + written, in.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if (w < 0 || written == in.size()) {
        ::close(to_child);
        to_child = -1;
      }
    }
    char buf[8192];
    for (auto [idx, fd, sink] : {std::tuple{idx_out, &from_out, out}, {idx_err, &from_err, err}}) {
      if (idx < 0 || !fds[idx].revents) continue;
      ssize_t r = ::read(*fd, buf, sizeof(buf));
      if (r > 0) {
        sink->append(buf, static_cast<size_t>(r));
      } else if (r == 0 || errno != EINTR) {
        ::close(*fd);
        *fd = -1;
      }
    }
  }
  if (to_child >= 0) ::close(to_child);
}

}  // namespace

std::string FindPlugin(std::string_view cni_path, std::string_view type) {
  if (type.empty() || type.find('/') != type.npos || type == "." || type == "..") return "";
  size_t start = 0;
  while (start <= cni_path.size()) {
    size_t colon = cni_path.find(':', start);
    std::string_view dir =
        cni_path.substr(start, colon == cni_path.npos ? cni_path.npos : colon - start);
    if (!dir.empty()) {
      std::string path = std::string(dir) + "/" + std::string(type);
      struct stat st;
      if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
          ::access(path.c_str(), X_OK) == 0) {
        return path;
      }
    }
    if (colon == cni_path.npos) break;
    start = colon + 1;
  }
  return "";
}

Result<PluginOutput> ExecDelegator::Run(const std::string& type, const std::string& command,
                                        std::string_view stdin_data) {
  std::string path = FindPlugin(cni_path_, type);
  if (path.empty()) {
    return Error::Invalid("failed to find plugin \"" + type + "\" in CNI_PATH")
        .WithDetails("CNI_PATH=" + cni_path_);
  }
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "CNI_COMMAND=", 12) != 0) env_strings.emplace_back(*e);
  }
  env_strings.push_back("CNI_COMMAND=" + command);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return SpawnError("pipe", errno);
  if (::pipe2(out, O_CLOEXEC) != 0) {
    int e = errno;
    ::close(in[0]), ::close(in[1]);
    return SpawnError("pipe", e);
  }
  if (::pipe2(err, O_CLOEXEC) != 0) {
    int e = errno;
    ::close(in[0]), ::close(in[1]), ::close(out[0]), ::close(out[1]);
    return SpawnError("pipe", e);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  std::string argv0 = path;
  char* argv[] = {argv0.data(), nullptr};
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, path.c_str(), &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]), ::close(out[1]), ::close(err[1]);
  if (rc != 0) {
    ::close(in[1]), ::close(out[0]), ::close(err[0]);
    return SpawnError("run " + path, rc);
  }
  // A plugin that exits without reading stdin must not kill us with SIGPIPE.
  struct sigaction ignore = {}, saved = {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &saved);
  PluginOutput result;
  Pump(in[1], out[0], err[0], stdin_data, &result.out, &result.err);
  ::sigaction(SIGPIPE, &saved, nullptr);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

namespace {

Error DelegateError(const std::string& type, const std::string& command, const PluginOutput& o) {
  auto j = nlohmann::json::parse(o.out, nullptr, false);
  if (j.is_object() && j.contains("code") && j["code"].is_number_integer()) {
    int code = j["code"].get<int>();
    std::string msg = type + ": ";
    if (j.contains("msg") && j["msg"].is_string()) msg += j["msg"].get<std::string>();
    std::string details;
    if (j.contains("details") && j["details"].is_string()) {
      details = j["details"].get<std::string>();
    }
    // The category matters only inside berth; the document keeps the delegate's code.
    Code category = Code::kSystem;
    if (code == kTryAgainLater) category = Code::kUnavailable;
    if (code >= kIncompatibleVersion && code <= kInvalidConfig) category = Code::kInvalid;
    return Error(category, std::move(msg)).WithDetails(std::move(details)).WithCniCode(code);
  }
  return Error(Code::kSystem,
               type + ": " + command + " failed with exit status " + std::to_string(o.exit_code))
      .WithDetails(o.err.empty() ? o.out : o.err);
}

}  // namespace

Result<AddResult> DelegateAdd(Delegator& d, const std::string& type, std::string_view conf) {
  auto o = d.Run(type, "ADD", conf);
  if (!o.ok()) return o.error();
  if (o->exit_code != 0) return DelegateError(type, "ADD", *o);
  auto j = nlohmann::json::parse(o->out, nullptr, false);
  if (!j.is_object()) {
    return BadInput(kDecodingFailure, type + ": ADD printed no result", o->out);
  }
  auto r = ParseResult(j);
  if (!r.ok()) return std::move(r).error().Wrap(type);
  return r;
}

Status Delegate(Delegator& d, const std::string& type, const std::string& command,
                std::string_view conf) {
  auto o = d.Run(type, command, conf);
  if (!o.ok()) return o.error();
  if (o->exit_code != 0) return DelegateError(type, command, *o);
  return Ok();
}

}  // namespace berth::cni
