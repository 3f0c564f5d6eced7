#include "core/error.h"

#include <cerrno>
#include <cstring>

namespace berth {

Error Error::System(std::string_view what, int err) {
  Code code = err == ENOENT ? Code::kNotFound : err == EEXIST ? Code::kExists : Code::kSystem;
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(err);
  return Error(code, std::move(msg), err);
}

Error& Error::Wrap(std::string_view context) & {
  message_.insert(0, std::string(context) + ": ");
  return *this;
}

Error&& Error::Wrap(std::string_view context) && { return std::move(Wrap(context)); }

Status ErrorList::ToStatus(std::string_view context) const {
  if (errors_.empty()) return Ok();
  Code code = errors_.front().code();
  std::string msg(context);
  for (size_t i = 0; i < errors_.size(); ++i) {
    if (errors_[i].code() != code) code = Code::kSystem;
    msg += i == 0 ? ": " : "; ";
    msg += errors_[i].message();
  }
  return Error(code, std::move(msg), errors_.front().sys_errno());
}

}  // namespace berth
