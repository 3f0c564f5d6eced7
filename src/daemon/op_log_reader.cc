#include "daemon/op_log_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

namespace berth::daemon {

namespace {

constexpr size_t kMaxLine = 4096;  // longer is not one of ours: dropped

}  // namespace

void OpLogReader::Open(bool at_end) {
  fd_ = sys::Fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  ino_ = 0;
  offset_ = 0;
  partial_.clear();
  rotated_ = false;
  struct stat st;
  if (!fd_.valid() || ::fstat(fd_.get(), &st) != 0) return;
  ino_ = st.st_ino;
  if (at_end) offset_ = st.st_size;
}

void OpLogReader::SkipToEnd() { Open(true); }

void OpLogReader::Drain(std::vector<engine::OpRecord>* out) {
  if (!fd_.valid()) return;
  struct stat st;
  if (::fstat(fd_.get(), &st) == 0 && st.st_size < offset_) {
    offset_ = 0;  // truncated by someone: start over
    partial_.clear();
  }
  char buf[16384];
  for (;;) {
    ssize_t n = ::pread(fd_.get(), buf, sizeof buf, offset_);
    if (n <= 0) break;
    offset_ += n;
    partial_.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
      auto r = engine::ParseOpRecord(std::string_view(partial_).substr(start, nl - start));
      if (r) out->push_back(std::move(*r));
    }
    partial_.erase(0, start);
    if (partial_.size() > kMaxLine) partial_.clear();
  }
}

std::vector<engine::OpRecord> OpLogReader::ReadNew() {
  std::vector<engine::OpRecord> out;
  Drain(&out);  // the file we had, to its end (the renamed one included)
  struct stat st;
  bool exists = ::stat(path_.c_str(), &st) == 0;
  if (rotated_ || !fd_.valid() || (exists && st.st_ino != ino_)) {
    // Rotated (by us, or the log was deleted and made again), or created since: a new file,
    // read from its start.
    Open(false);
    Drain(&out);
  }
  if (fd_.valid() && offset_ >= kRotateBytes) {
    std::string old = path_ + ".1";
    if (::rename(path_.c_str(), old.c_str()) == 0) rotated_ = true;
  }
  return out;
}

}  // namespace berth::daemon
