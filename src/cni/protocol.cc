#include "cni/protocol.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "core/names.h"

namespace berth::cni {

namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/// SPEC.md: a container ID starts with an alphanumeric, then alphanumerics, _ . -
bool ValidContainerId(std::string_view id) {
  if (id.empty() || !IsAlnum(id[0])) return false;
  for (char c : id) {
    if (!IsAlnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

/// The table in protocol.h.
int CodeFor(Code category) {
  switch (category) {
    case Code::kInvalid:
      return kInvalidConfig;
    case Code::kUnavailable:
      return kTryAgainLater;
    case Code::kExists:
    case Code::kInUse:
      return kBerthConflict;
    case Code::kNotFound:
    case Code::kSystem:
    case Code::kInternal:
    case Code::kCommandNotFound:
    case Code::kCommandCannotRun:
      break;
  }
  return kBerthFailure;
}

}  // namespace

Env ReadEnv(const Getenv& getenv) {
  auto get = [&](const char* name) {
    const char* v = getenv(name);
    return std::string(v ? v : "");
  };
  return Env{get("CNI_COMMAND"), get("CNI_CONTAINERID"), get("CNI_NETNS"),
             get("CNI_IFNAME"),  get("CNI_ARGS"),        get("CNI_PATH")};
}

Error BadInput(ErrorCode code, std::string msg, std::string details) {
  return Error::Invalid(std::move(msg)).WithDetails(std::move(details)).WithCniCode(code);
}

ErrorDoc ToCniError(const Error& e) {
  return ErrorDoc{e.cni_code() != 0 ? e.cni_code() : CodeFor(e.code()), e.message(), e.details()};
}

Result<Command> ValidateEnv(const Env& env) {
  static const std::pair<const char*, Command> kCommands[] = {
      {"ADD", Command::kAdd},       {"DEL", Command::kDel},         {"CHECK", Command::kCheck},
      {"STATUS", Command::kStatus}, {"VERSION", Command::kVersion}, {"GC", Command::kGc}};
  std::optional<Command> cmd;
  for (const auto& [name, c] : kCommands) {
    if (env.command == name) cmd = c;
  }
  if (!cmd) {
    std::string what = env.command.empty() ? "CNI_COMMAND is not set"
                                           : "CNI_COMMAND \"" + env.command + "\" is unknown";
    return BadInput(kInvalidEnvironment, "invalid environment: " + what,
                    "expected one of ADD, DEL, CHECK, STATUS, VERSION, GC");
  }
  std::vector<std::string> problems;
  bool attachment = *cmd == Command::kAdd || *cmd == Command::kDel || *cmd == Command::kCheck;
  if (attachment) {
    if (env.container_id.empty()) {
      problems.push_back("CNI_CONTAINERID is not set");
    } else if (!ValidContainerId(env.container_id)) {
      problems.push_back("CNI_CONTAINERID \"" + env.container_id +
                         "\" is not [a-zA-Z0-9][a-zA-Z0-9_.-]*");
    }
    if (env.ifname.empty()) {
      problems.push_back("CNI_IFNAME is not set");
    } else if (Status st = ValidateIfName(env.ifname); !st.ok()) {
      problems.push_back("CNI_IFNAME: " + st.error().message());
    }
  }
  if ((*cmd == Command::kAdd || *cmd == Command::kCheck) && env.netns.empty()) {
    problems.push_back("CNI_NETNS is not set");
  }
  if (!problems.empty()) {
    std::string msg = "invalid environment: ";
    for (size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
    return BadInput(kInvalidEnvironment, msg);
  }
  return *cmd;
}

std::optional<std::vector<int>> ParseVersion(std::string_view v) {
  std::vector<int> out;
  for (size_t start = 0;;) {
    size_t dot = v.find('.', start);
    std::string_view part = v.substr(start, dot == v.npos ? v.npos : dot - start);
    int n = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), n);
    if (part.empty() || ec != std::errc() || end != part.data() + part.size()) return std::nullopt;
    out.push_back(n);
    if (dot == v.npos) break;
    start = dot + 1;
  }
  if (out.size() != 3) return std::nullopt;
  return out;
}

bool IsSupported(std::string_view version) {
  for (const char* v : kSupportedVersions) {
    if (version == v) return true;
  }
  return false;
}

bool VersionLess(std::string_view a, std::string_view b) {
  auto pa = ParseVersion(a), pb = ParseVersion(b);
  if (!pa || !pb) return false;
  return *pa < *pb;
}

Status CheckVersion(Command command, std::string_view version) {
  std::string supported;
  for (const char* v : kSupportedVersions) supported += std::string(supported.empty() ? "" : ", ") + v;
  if (!IsSupported(version)) {
    return BadInput(kIncompatibleVersion, "incompatible CNI version",
                    "config version \"" + std::string(version) +
                        "\" is not supported by berth (supported: " + supported + ")");
  }
  const char* needs = nullptr;
  const char* name = nullptr;
  if (command == Command::kCheck) {
    needs = "0.4.0";
    name = "CHECK";
  } else if (command == Command::kStatus || command == Command::kGc) {
    needs = "1.1.0";
    name = command == Command::kStatus ? "STATUS" : "GC";
  }
  if (needs && VersionLess(version, needs)) {
    return BadInput(kIncompatibleVersion, "incompatible CNI version",
                    std::string("config version ") + std::string(version) + " does not allow " +
                        name + " (it needs " + needs + " or later)");
  }
  return Ok();
}

Result<std::map<std::string, std::string>> ParseCniArgs(std::string_view args) {
  static const char* kKnown[] = {"IgnoreUnknown", "K8S_POD_NAMESPACE", "K8S_POD_NAME",
                                 "K8S_POD_INFRA_CONTAINER_ID", "K8S_POD_UID", "IP", "MAC"};
  std::map<std::string, std::string> out;
  std::vector<std::string> unknown;
  size_t start = 0;
  while (start < args.size()) {
    size_t semi = args.find(';', start);
    std::string_view item = args.substr(start, semi == args.npos ? args.npos : semi - start);
    start = semi == args.npos ? args.size() : semi + 1;
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == 0 || eq == item.npos) {
      return BadInput(kInvalidEnvironment, "invalid environment: CNI_ARGS item \"" +
                                               std::string(item) + "\" is not KEY=VALUE");
    }
    std::string key(item.substr(0, eq));
    bool known = false;
    for (const char* k : kKnown) known = known || key == k;
    if (!known) unknown.push_back(key);
    out[key] = std::string(item.substr(eq + 1));
  }
  auto ignore = out.find("IgnoreUnknown");
  bool ignore_unknown = ignore != out.end() && (ignore->second == "1" || ignore->second == "true" ||
                                                ignore->second == "True");
  if (!unknown.empty() && !ignore_unknown) {
    std::string keys;
    for (const auto& k : unknown) keys += (keys.empty() ? "" : ", ") + k;
    return BadInput(kInvalidEnvironment, "invalid environment: CNI_ARGS has unknown keys: " + keys,
                    "set IgnoreUnknown=1 to have them ignored");
  }
  return out;
}

std::string ErrorJson(const Error& error, std::string_view version) {
  ErrorDoc e = ToCniError(error);
  nlohmann::json j = {{"cniVersion", std::string(version)}, {"code", e.code}, {"msg", e.msg}};
  if (!e.details.empty()) j["details"] = e.details;
  return j.dump(4, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string VersionJson(std::string_view requested) {
  nlohmann::json versions = nlohmann::json::array();
  for (const char* v : kSupportedVersions) versions.push_back(v);
  std::string version = ParseVersion(requested) ? std::string(requested) : kLatestVersion;
  return nlohmann::json{{"cniVersion", version}, {"supportedVersions", versions}}.dump(4);
}

}  // namespace berth::cni
