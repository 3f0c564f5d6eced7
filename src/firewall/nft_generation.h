// nf_tables' ruleset generation, and a stamp of the generation berth last left its table in.
//
// The kernel bumps one counter per network namespace on every committed nf_tables
// transaction, whatever table it touches (GETGEN reads it in one round trip). A berth command
// compares it with the stamp written after berth's own last change: equal means nobody touched
// nftables since, so berth's table is as berth left it and the command skips any check. When
// it differs, the command verifies berth's objects (nft_verify.h) and rebuilds what is
// missing, then stamps the current generation.
//
// The stamp is a file (one line: generation, netns inode, boot id), replaced atomically by
// rename. The netns and boot id make a stamp from another namespace or an earlier boot (the
// counter restarts) count as no stamp.
//
// Thread-compatible; the file is written under berth's operation lock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/error.h"
#include "firewall/nfnl_socket.h"

namespace berth::firewall {

/// The current nf_tables generation of the caller's network namespace.
Result<uint32_t> CurrentGeneration();
Result<uint32_t> CurrentGeneration(NfnlSocket& socket);

class GenerationStamp {
 public:
  /// `path`: e.g. <root>/firewall.generation.
  explicit GenerationStamp(std::string path) : path_(std::move(path)) {}

  /// The stamped generation; nullopt when there is no stamp, or it is from another network
  /// namespace or boot.
  Result<std::optional<uint32_t>> Load() const;
  /// Stamps `generation` (atomically: a temporary file renamed over the stamp).
  Status Store(uint32_t generation) const;
  /// Removes the stamp, so the next command verifies. Missing is fine.
  Status Clear() const;

  /// After berth committed `commits` transactions that began at generation `before`: stamps
  /// the new generation when it is exactly before + commits (nobody else committed in
  /// between), otherwise clears the stamp. Returns whether it stamped.
  Result<bool> RecordOwnCommits(uint32_t before, uint32_t commits) const;

  /// What a command asks first: true when the generation moved since the stamp (or there is
  /// none), so berth's table must be verified. `*current` receives the generation read.
  Result<bool> Changed(uint32_t* current = nullptr) const;

 private:
  std::string path_;
};

}  // namespace berth::firewall
