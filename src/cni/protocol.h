// The CNI execution protocol (containernetworking/cni SPEC.md, spec 1.1): the commands, the
// environment a runtime passes, spec versions and their negotiation, CNI_ARGS, and errors as
// the JSON document the spec prescribes. Pure; no engine, no I/O.
//
// Errors are berth's (core/error.h) all the way through the front end. The spec's numeric code
// is chosen in one place, ToCniError, when the error document is written: from the error's
// category, or from the CNI code the front end tagged it with where the category cannot tell
// (BadInput for the input channels; see Error::cni_code for why those are tags).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace berth::cni {

/// The versions berth speaks, oldest first. 0.3.1 and 0.4.0 share one result format (IPs
/// carry "version"); 1.0.0 and 1.1.0 another (1.1.0 adds the interface MTU).
inline constexpr const char* kSupportedVersions[] = {"0.3.1", "0.4.0", "1.0.0", "1.1.0"};
inline constexpr char kLatestVersion[] = "1.1.0";

/// Well-known error codes (SPEC.md, "Error codes") and berth's own (100 and up).
enum ErrorCode : int {
  kIncompatibleVersion = 1,
  kUnsupportedField = 2,
  kUnknownContainer = 3,
  kInvalidEnvironment = 4,
  kIoFailure = 5,
  kDecodingFailure = 6,
  kInvalidConfig = 7,
  kTryAgainLater = 11,
  kNotAvailable = 50,        // STATUS: cannot serve ADD now
  kBerthFailure = 100,       // the kernel or berth's state store refused
  kBerthConflict = 101,      // an address, name or interface is already taken
  kBerthCheckFailed = 102,   // CHECK: the attachment is not what the runtime was told
};

/// Input berth refuses (category kInvalid), from the runtime or a delegated plugin, tagged with
/// the code that names what was wrong with it: kIncompatibleVersion, kUnsupportedField,
/// kInvalidEnvironment or kDecodingFailure. Any other bad input is a plain Error::Invalid
/// (code 7).
Error BadInput(ErrorCode code, std::string msg, std::string details = "");

/// The fields of an error document.
struct ErrorDoc {
  int code = kBerthFailure;
  std::string msg;
  std::string details;
};

/// The one mapping from a berth Error to a CNI error: its CNI code when the front end set one,
/// otherwise by category:
///   kInvalid                      7   invalid network configuration (a request berth refuses)
///   kUnavailable                 11   try again later (a network removed meanwhile, no address)
///   kExists, kInUse             101   berth: an address, name or interface is already taken
///   kNotFound, kSystem,         100   berth: the kernel or the state store failed
///   kInternal, kCommand*
/// msg is the message (with its context chain), details the error's details.
ErrorDoc ToCniError(const Error& e);

enum class Command { kAdd, kDel, kCheck, kStatus, kVersion, kGc };

/// The CNI_* variables, as given (empty when unset).
struct Env {
  std::string command, container_id, netns, ifname, args, path;
};

using Getenv = std::function<const char*(const char*)>;
Env ReadEnv(const Getenv& getenv);

/// The command, after checking that every variable it needs is there and well-formed
/// (ADD and CHECK: CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME; DEL: CNI_CONTAINERID, CNI_IFNAME).
/// Code 4 naming every offending variable.
Result<Command> ValidateEnv(const Env& env);

/// "1.0.0" -> {1, 0, 0}; nullopt unless three dot-separated numbers.
std::optional<std::vector<int>> ParseVersion(std::string_view v);
bool IsSupported(std::string_view version);
/// a < b for well-formed versions.
bool VersionLess(std::string_view a, std::string_view b);

/// Code 1 unless `version` is supported and new enough for `command` (CHECK needs 0.4.0,
/// STATUS and GC need 1.1.0).
Status CheckVersion(Command command, std::string_view version);

/// CNI_ARGS: "K=V;K2=V2". Keys berth knows are K8S_POD_NAME (the container's name),
/// K8S_POD_NAMESPACE, K8S_POD_INFRA_CONTAINER_ID, K8S_POD_UID (ignored), IP and MAC (a
/// fixed address and MAC). Others are an error unless IgnoreUnknown=1|true (the CNI
/// convention). Code 4.
Result<std::map<std::string, std::string>> ParseCniArgs(std::string_view args);

/// {"cniVersion", "code", "msg", "details"} for `e` (ToCniError); no "details" when empty.
std::string ErrorJson(const Error& e, std::string_view version);

/// VERSION's answer; `requested` (the stdin cniVersion) is echoed when well-formed.
std::string VersionJson(std::string_view requested);

}  // namespace berth::cni
