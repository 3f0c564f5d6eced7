// Error, Status and Result<T>: how every berth layer reports failure.
//
// An Error carries a category (what a caller may branch on), the errno that caused it (0 when
// none) and a message that grows a context chain as it travels up ("attach c1 to net1: create
// veth: File exists"). No exceptions cross module boundaries; third-party code that throws
// (JSON, CLI parsing) is caught at the edge that calls it.
//
// Two optional extras, both empty for almost every error:
// - details: a longer explanation kept apart from the message so that context chains stay
//   short (what is accepted, how to fix it, what another program printed). CNI's error document
//   has a field for it; other front ends print it after the message.
// - cni_code: the CNI error code (containernetworking/cni SPEC.md, "Error"), set only by the
//   cni/ front end for failures whose code the category cannot tell: 1 incompatible version,
//   2 unsupported field, 4 bad environment, 5 I/O, 6 undecodable stdin, 50 STATUS "not
//   available", 102 a failed CHECK, and a delegated plugin's own code. Codes 1, 2, 4 and 6 are
//   all "bad input, nothing changed" (kInvalid) and differ only in which part of the CNI
//   protocol carried the input; no other layer makes or tests that distinction, so they are
//   not Code values (each would be one more case in every switch over Code, for CLI exit
//   statuses and berthd's HTTP statuses). 50 and 102 say which command failed, not how; a
//   delegate's code is any number. Codes the category does tell (7, 11, 100, 101) are never
//   tagged: cni::ToCniError derives them.
//
// Value types: safe to copy and move; no shared state.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace berth {

enum class Code {
  kInvalid,      // bad user input; nothing was changed
  kNotFound,     // named object does not exist
  kExists,       // name or address already taken
  kInUse,        // object still referenced (network with endpoints, busy port)
  kSystem,       // the kernel or the OS refused; see sys_errno()
  kUnavailable,  // a dependency is not there (daemon, module, binary)
  kInternal,     // a bug or corrupted state
  kCommandNotFound,    // a container's command does not exist (exit status 127)
  kCommandCannotRun,   // it exists but cannot be executed (126)
};

class Error {
 public:
  Error(Code code, std::string message, int sys_errno = 0)
      : code_(code), sys_errno_(sys_errno), message_(std::move(message)) {}

  static Error Invalid(std::string m) { return {Code::kInvalid, std::move(m)}; }
  static Error NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Error Exists(std::string m) { return {Code::kExists, std::move(m)}; }
  static Error InUse(std::string m) { return {Code::kInUse, std::move(m)}; }
  static Error Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Error Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
  /// "what: strerror(err)", category kSystem (or kNotFound/kExists for ENOENT/EEXIST).
  static Error System(std::string_view what, int err);

  /// Prefixes context: Wrap("create veth") turns "File exists" into "create veth: File exists".
  /// The code, errno, details and CNI code stay.
  Error& Wrap(std::string_view context) &;
  Error&& Wrap(std::string_view context) &&;
  Error& WithDetails(std::string details) &;
  Error&& WithDetails(std::string details) &&;
  Error& WithCniCode(int cni_code) &;
  Error&& WithCniCode(int cni_code) &&;

  Code code() const { return code_; }
  int sys_errno() const { return sys_errno_; }
  const std::string& message() const { return message_; }
  const std::string& details() const { return details_; }
  /// 0 when unset (the CNI front end derives the code from code()).
  int cni_code() const { return cni_code_; }

 private:
  Code code_;
  int sys_errno_;
  int cni_code_ = 0;
  std::string message_;
  std::string details_;
};

/// Either a T or an Error. Cheap to move; check ok() before dereferencing.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  T&& operator*() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }

  Error& error() & { return std::get<1>(v_); }
  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  Error& error() & { return *error_; }
  const Error& error() const& { return *error_; }
  Error&& error() && { return std::move(*error_); }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

inline Status Ok() { return {}; }

/// The failures of a best-effort sequence (teardown: try every step, report all that failed,
/// netavark's NetavarkErrorList). Each error keeps its own code.
class ErrorList {
 public:
  /// Records `st`'s error; an ok Status is ignored.
  void Add(Status st) {
    if (!st.ok()) errors_.push_back(std::move(st).error());
  }
  void Add(Error e) { errors_.push_back(std::move(e)); }
  bool empty() const { return errors_.empty(); }
  const std::vector<Error>& errors() const { return errors_; }
  /// Ok when nothing failed; otherwise one Error "context: first; second; ...". Its code (and
  /// CNI code) is the one the errors share, or kSystem (no CNI code) when they differ; its errno
  /// is the first error's; its details are theirs, joined by "; ".
  Status ToStatus(std::string_view context) const;

 private:
  std::vector<Error> errors_;
};

}  // namespace berth

#define BERTH_CONCAT_INNER(a, b) a##b
#define BERTH_CONCAT(a, b) BERTH_CONCAT_INNER(a, b)

/// Returns the error of a Status/Result expression from the enclosing function.
#define BERTH_TRY(expr)                                  \
  do {                                                   \
    auto&& berth_try_result = (expr);                    \
    if (!berth_try_result.ok())                          \
      return std::move(berth_try_result).error();        \
  } while (0)

/// Like BERTH_TRY, adding context to the error.
#define BERTH_TRY_CTX(expr, ctx)                               \
  do {                                                         \
    auto&& berth_try_result = (expr);                          \
    if (!berth_try_result.ok())                                \
      return std::move(berth_try_result).error().Wrap(ctx);    \
  } while (0)

/// `BERTH_ASSIGN_OR_RETURN(auto x, Parse(s));` declares x from a Result or returns its error.
#define BERTH_ASSIGN_OR_RETURN(lhs, expr) \
  BERTH_ASSIGN_OR_RETURN_IMPL(BERTH_CONCAT(berth_result_, __LINE__), lhs, expr)
#define BERTH_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return std::move(tmp).error();     \
  lhs = std::move(*tmp)
