#include "firewall/nft_generation.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace berth::firewall {

namespace {

// Reads a small file whole; "" on any error (the caller treats it as unknown).
// Every stamp is written as this many bytes (padded with spaces), so an overwrite in place
// leaves nothing of a longer one behind: a generation, a netns inode and a boot id fit.
constexpr size_t kStampSize = 96;

std::string ReadSmall(const char* path) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  char buf[128];
  ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
  ::close(fd);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// What ties a generation to one counter: this boot's id and this network namespace.
std::string CounterIdentity() {
  struct stat st {};
  unsigned long long ino = ::stat("/proc/thread-self/ns/net", &st) == 0 ? st.st_ino : 0;
  std::string boot = ReadSmall("/proc/sys/kernel/random/boot_id");
  while (!boot.empty() && (boot.back() == '\n' || boot.back() == ' ')) boot.pop_back();
  return std::to_string(ino) + " " + boot;
}

}  // namespace

Result<uint32_t> CurrentGeneration(NfnlSocket& socket) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh =
      nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, socket.NextSeq());
  std::optional<uint32_t> gen;
  BERTH_TRY_CTX(socket.Query(nlh,
                             [&](const nlmsghdr* reply) {
                               if (NFNL_MSG_TYPE(reply->nlmsg_type) != NFT_MSG_NEWGEN) return;
                               ForEachAttr(reply, [&](const nlattr* attr) {
                                 if (mnl_attr_get_type(attr) == NFTA_GEN_ID &&
                                     mnl_attr_get_payload_len(attr) == sizeof(uint32_t)) {
                                   gen = ntohl(mnl_attr_get_u32(attr));
                                 }
                               });
                             }),
                "nftables: read generation");
  if (!gen) return Error::Internal("nftables: generation reply without NFTA_GEN_ID");
  return *gen;
}

Result<uint32_t> CurrentGeneration() {
  BERTH_ASSIGN_OR_RETURN(NfnlSocket socket, NfnlSocket::Open());
  return CurrentGeneration(socket);
}

Result<std::optional<uint32_t>> GenerationStamp::Load() const {
  std::string text = ReadSmall(path_.c_str());
  if (text.empty()) return std::optional<uint32_t>();
  unsigned long gen = 0;
  int used = 0;
  if (std::sscanf(text.c_str(), "%lu %n", &gen, &used) != 1) return std::optional<uint32_t>();
  std::string_view rest(text.c_str() + used);
  while (!rest.empty() && (rest.back() == '\n' || rest.back() == ' ')) rest.remove_suffix(1);
  if (rest != CounterIdentity()) return std::optional<uint32_t>();
  return std::optional<uint32_t>(static_cast<uint32_t>(gen));
}

Status GenerationStamp::Store(uint32_t generation) const {
  // Overwritten in place with one fixed-size write, not written aside and renamed: renaming
  // over an existing file makes ext4 start writing the new one back (auto_da_alloc), about a
  // millisecond of every command. No fsync either. A stamp lost in a crash, or torn by two
  // writers, only costs one verification (and a stamp never outlives the boot it names).
  std::string line = std::to_string(generation) + " " + CounterIdentity();
  line.resize(kStampSize - 1, ' ');
  line += '\n';
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Error::System("write " + path_, errno);
  ssize_t n = ::pwrite(fd, line.data(), line.size(), 0);
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(line.size())) {
    return Error::System("write " + path_, n < 0 ? err : EIO);
  }
  return Ok();
}

Status GenerationStamp::Clear() const {
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
    return Error::System("remove " + path_, errno);
  }
  return Ok();
}

Result<bool> GenerationStamp::RecordOwnCommits(uint32_t before, uint32_t commits) const {
  BERTH_ASSIGN_OR_RETURN(uint32_t now, CurrentGeneration());
  // The kernel skips 0 when the counter wraps.
  uint32_t expected = before + commits;
  if (expected < before) ++expected;
  if (now != expected) {
    BERTH_TRY(Clear());
    return false;
  }
  BERTH_TRY(Store(now));
  return true;
}

Result<bool> GenerationStamp::Changed(uint32_t* current) const {
  BERTH_ASSIGN_OR_RETURN(uint32_t now, CurrentGeneration());
  if (current) *current = now;
  BERTH_ASSIGN_OR_RETURN(std::optional<uint32_t> stamped, Load());
  return !stamped || *stamped != now;
}

}  // namespace berth::firewall
