// Where a caller's keys live in etcd: every key is relative to the client's prefix ("/berth"),
// and the prefix comes off again in what is returned. A prefix range ends at the prefix with its
// last byte incremented (etcd's clientv3.GetPrefixRangeEnd).
#pragma once

#include <string>
#include <string_view>

namespace berth::etcd {

class KeySpace {
 public:
  /// "/berth" and "/berth/" both put "nodes/a" at "/berth/nodes/a"; "" leaves keys as they are.
  explicit KeySpace(std::string_view prefix);

  std::string Full(std::string_view key) const { return base_ + std::string(key); }
  /// `full` without the prefix; a key outside it (never returned for our requests) unchanged.
  std::string Strip(std::string_view full) const;

 private:
  std::string base_;
};

/// The range_end that makes [key, end) every key starting with `key`; "\0" (to the end of the
/// keyspace) when no such bound exists (empty key, or all bytes 0xff).
std::string PrefixEnd(std::string_view key);

}  // namespace berth::etcd
