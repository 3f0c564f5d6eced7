#include "etcd/keys.h"

namespace berth::etcd {

KeySpace::KeySpace(std::string_view prefix) : base_(prefix) {
  if (!base_.empty() && base_.back() != '/') base_ += '/';
}

std::string KeySpace::Strip(std::string_view full) const {
  if (full.substr(0, base_.size()) == base_) full.remove_prefix(base_.size());
  return std::string(full);
}

std::string PrefixEnd(std::string_view key) {
  std::string end(key);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

}  // namespace berth::etcd
