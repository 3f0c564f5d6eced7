#include "cni/delegate.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "sys/subprocess.h"

extern char** environ;

namespace berth::cni {

namespace {

Error SpawnError(const std::string& what, const Error& e) {
  return Error(Code::kSystem,
               what + ": " + (e.sys_errno() ? std::strerror(e.sys_errno()) : e.message()),
               e.sys_errno());
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
  sys::SubprocessSpec spec;
  spec.path = path;
  spec.argv = {path};
  spec.env.emplace();
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "CNI_COMMAND=", 12) != 0) spec.env->emplace_back(*e);
  }
  spec.env->push_back("CNI_COMMAND=" + command);
  spec.std_in = spec.std_out = spec.std_err = sys::Stdio::Pipe();
  auto done = sys::RunToExit(std::move(spec), stdin_data);
  if (!done.ok()) return SpawnError("run " + path, done.error());
  return PluginOutput{done->exit_code, std::move(done->out), std::move(done->err)};
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
