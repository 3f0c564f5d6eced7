// NftFirewall: the nftables backend. A published port or a network's bridge entries (hash-set
// elements) go through ElementBatch: one prebuilt nf_tables batch, one round trip. Everything
// else, and the rebuild after a failure, goes through libnftables' JSON input, loaded with
// dlopen on first use so the common path does not pay for loading it and its dependencies.
#pragma once

#include <memory>
#include <string>

#include "firewall/element_batch.h"
#include "firewall/firewall.h"

namespace berth::firewall {

struct Libnftables;  // the dlopen'ed library and its context (nft_firewall.cc)

class NftFirewall final : public Firewall {
 public:
  static Result<std::unique_ptr<NftFirewall>> Open();
  ~NftFirewall() override;

  Status Apply(const Delta& delta, const StateFn& state) override;
  Result<std::vector<std::string>> Missing(const Delta& expected) override;
  Result<std::vector<std::string>> Sync(const State& state) override;
  /// Runs one JSON batch through libnftables; exposed for tests and benchmarks. `output`
  /// receives what it printed (a listing) when given.
  Status Run(const std::string& json, std::string* output = nullptr);

 private:
  NftFirewall();
  Status Rebuild(const State& state);
  ElementBatch elements_;
  std::unique_ptr<Libnftables> nft_;
};

}  // namespace berth::firewall
