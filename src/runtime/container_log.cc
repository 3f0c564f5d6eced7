#include "runtime/container_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "sys/write_all.h"

namespace berth::runtime {

namespace {

void Put64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint64_t Get64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

LogWriter::LogWriter(const std::string& log_path)
    : log_(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)),
      times_(::open((log_path + ".times").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                    0600)) {
  struct stat st;
  if (!log_.valid() || ::fstat(log_.get(), &st) != 0) return;
  offset_ = static_cast<uint64_t>(st.st_size);
  // A restarted container appends: its first byte starts a line only after a newline.
  char last = '\n';
  if (offset_ > 0) {
    sys::Fd reader(::open(log_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (reader.valid() && ::pread(reader.get(), &last, 1, static_cast<off_t>(offset_ - 1)) != 1) {
      last = '\n';
    }
  }
  line_start_ = last == '\n';
}

void LogWriter::Write(const char* data, size_t size) {
  if (!log_.valid() || size == 0) return;
  if (times_.valid()) {
    // One record per line that starts in this chunk, all stamped now: the chunk arrived at once.
    std::string records;
    int64_t now = NowNs();
    for (size_t i = 0; i < size; ++i) {
      if (line_start_) {
        char rec[16];
        Put64(rec, offset_ + i);
        Put64(rec + 8, static_cast<uint64_t>(now));
        records.append(rec, sizeof(rec));
      }
      line_start_ = data[i] == '\n';
    }
    if (!records.empty()) (void)sys::WriteAll(times_.get(), records.data(), records.size());
  } else {
    line_start_ = data[size - 1] == '\n';
  }
  if (sys::WriteAll(log_.get(), data, size)) offset_ += size;
}

std::vector<LineTime> ReadLineTimes(const std::string& log_path) {
  std::vector<LineTime> out;
  sys::Fd fd(::open((log_path + ".times").c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return out;
  std::string bytes;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd.get(), buf, sizeof(buf))) > 0;) bytes.append(buf, n);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  for (size_t i = 0; i + 16 <= bytes.size(); i += 16) {
    out.push_back({Get64(p + i), static_cast<int64_t>(Get64(p + i + 8))});
  }
  // A torn last record (a writer killed mid-write) is simply not there.
  std::sort(out.begin(), out.end(),
            [](const LineTime& a, const LineTime& b) { return a.offset < b.offset; });
  return out;
}

int64_t LineWrittenAt(const std::vector<LineTime>& times, uint64_t offset) {
  auto it = std::upper_bound(times.begin(), times.end(), offset,
                             [](uint64_t o, const LineTime& t) { return o < t.offset; });
  if (it == times.begin()) return 0;
  return std::prev(it)->unix_ns;
}

std::string FormatTimestamp(int64_t unix_ns) {
  time_t secs = static_cast<time_t>(unix_ns / 1'000'000'000);
  long nanos = static_cast<long>(unix_ns % 1'000'000'000);
  tm t;
  gmtime_r(&secs, &t);
  char stamp[64];
  size_t n = std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &t);
  std::snprintf(stamp + n, sizeof(stamp) - n, ".%09ldZ ", nanos);
  return stamp;
}

}  // namespace berth::runtime
