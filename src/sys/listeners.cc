#include "sys/listeners.h"

#include <dirent.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

#include "sys/proc.h"

namespace berth::sys {

namespace {

constexpr std::string_view kTcpListen = "0A";

bool ParseHex(std::string_view t, uint32_t& out) {
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out, 16);
  return ec == std::errc() && end == t.data() + t.size();
}

// "0100007F:1F90" (IPv4) or 32 hex digits ":PORT" (IPv6): the address words are the kernel's
// network-order bytes printed as native u32s, so copying each parsed word back restores them.
bool ParseEndpoint(std::string_view t, IpAddr& ip, uint16_t& port) {
  size_t colon = t.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view addr = t.substr(0, colon);
  uint32_t p = 0;
  if (!ParseHex(t.substr(colon + 1), p) || p > 0xffff) return false;
  port = static_cast<uint16_t>(p);
  if (addr.size() != 8 && addr.size() != 32) return false;
  uint8_t bytes[16];
  for (size_t i = 0; i < addr.size() / 8; ++i) {
    uint32_t w = 0;
    if (!ParseHex(addr.substr(i * 8, 8), w)) return false;
    std::memcpy(bytes + i * 4, &w, 4);
  }
  if (addr.size() == 8) {
    ip = IpAddr::FromBytes(false, bytes);
    return true;
  }
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  ip = std::memcmp(bytes, kMapped, 12) == 0 ? IpAddr::FromBytes(false, bytes + 12)
                                            : IpAddr::FromBytes(true, bytes);
  if (ip.is_v6() && ip.IsUnspecified()) ip = IpAddr::V4(0);
  return true;
}

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

}  // namespace

std::vector<Listener> ParseSocketTable(std::string_view text, Protocol protocol) {
  std::vector<Listener> out;
  size_t pos = text.find('\n');  // the header line
  while (pos != std::string_view::npos && pos + 1 < text.size()) {
    size_t next = text.find('\n', pos + 1);
    std::string_view line = text.substr(pos + 1, next == std::string_view::npos
                                                     ? std::string_view::npos
                                                     : next - pos - 1);
    pos = next;
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
    auto f = Fields(line);
    if (f.size() < 10) continue;
    Listener l;
    l.protocol = protocol;
    IpAddr remote;
    uint16_t remote_port = 0;
    if (!ParseEndpoint(f[1], l.ip, l.port) || !ParseEndpoint(f[2], remote, remote_port)) continue;
    if (l.port == 0) continue;
    // TCP: only listening sockets. UDP: bound and not connected (a connected one hears only
    // its peer, and a client's ephemeral port comes and goes).
    if (protocol == Protocol::kTcp ? f[3] != kTcpListen : remote_port != 0) continue;
    std::from_chars(f[9].data(), f[9].data() + f[9].size(), l.inode);
    out.push_back(l);
  }
  return out;
}

Result<std::vector<Listener>> ReadListeners() {
  std::vector<Listener> out;
  static constexpr std::pair<const char*, Protocol> kTables[] = {
      {"tcp", Protocol::kTcp}, {"tcp6", Protocol::kTcp},
      {"udp", Protocol::kUdp}, {"udp6", Protocol::kUdp}};
  for (const auto& [name, proto] : kTables) {
    std::string path = std::string("/proc/thread-self/net/") + name;
    auto text = ReadFile(path);
    if (!text.ok()) {
      if (text.error().code() == Code::kNotFound) continue;  // IPv6 disabled
      return std::move(text).error();
    }
    auto part = ParseSocketTable(*text, proto);
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

std::optional<SocketOwner> FindSocketOwner(uint64_t inode) {
  const std::string want = "socket:[" + std::to_string(inode) + "]";
  DIR* proc = ::opendir("/proc");
  if (!proc) return std::nullopt;
  std::optional<SocketOwner> found;
  while (dirent* p = ::readdir(proc)) {
    pid_t pid = 0;
    auto [end, ec] = std::from_chars(p->d_name, p->d_name + std::strlen(p->d_name), pid);
    if (ec != std::errc() || *end != '\0') continue;
    std::string fd_dir = "/proc/" + std::string(p->d_name) + "/fd";
    DIR* fds = ::opendir(fd_dir.c_str());
    if (!fds) continue;
    while (dirent* f = ::readdir(fds)) {
      char target[64];
      std::string link = fd_dir + "/" + f->d_name;
      ssize_t n = ::readlink(link.c_str(), target, sizeof(target) - 1);
      if (n <= 0 || want.compare(0, want.size(), target, static_cast<size_t>(n)) != 0) continue;
      auto comm = ReadFile("/proc/" + std::string(p->d_name) + "/comm");
      std::string name = comm.ok() ? *comm : "?";
      while (!name.empty() && name.back() == '\n') name.pop_back();
      found = SocketOwner{pid, name};
      break;
    }
    ::closedir(fds);
    if (found) break;
  }
  ::closedir(proc);
  return found;
}

}  // namespace berth::sys
