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

Error& Error::WithDetails(std::string details) & {
  details_ = std::move(details);
  return *this;
}

Error&& Error::WithDetails(std::string details) && {
  return std::move(WithDetails(std::move(details)));
}

Error& Error::WithCniCode(int cni_code) & {
  cni_code_ = cni_code;
  return *this;
}

Error&& Error::WithCniCode(int cni_code) && { return std::move(WithCniCode(cni_code)); }

Status ErrorList::ToStatus(std::string_view context) const {
  if (errors_.empty()) return Ok();
  Code code = errors_.front().code();
  int cni_code = errors_.front().cni_code();
  std::string msg(context), details;
  for (size_t i = 0; i < errors_.size(); ++i) {
    const Error& e = errors_[i];
    if (e.code() != code) code = Code::kSystem;
    if (e.cni_code() != cni_code) cni_code = 0;
    msg += i == 0 ? ": " : "; ";
    msg += e.message();
    if (!e.details().empty()) details += (details.empty() ? "" : "; ") + e.details();
  }
  Error out(code, std::move(msg), errors_.front().sys_errno());
  return std::move(out).WithDetails(std::move(details)).WithCniCode(cni_code);
}

}  // namespace berth
