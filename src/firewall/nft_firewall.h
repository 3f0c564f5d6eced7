// NftFirewall: the nftables backend. A published port, a network's bridge entries (hash-set
// elements) and a service's chains, rules, sets and map elements go through ApplyElements: one
// prebuilt nf_tables batch, one round trip. Everything else (interval sets), and the rebuild
// after a failure, goes through libnftables' JSON input, loaded with dlopen on first use so the
// common path does not pay for loading it and its dependencies.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "firewall/element_batch.h"
#include "firewall/firewall.h"
#include "firewall/nfnl_socket.h"

namespace berth::firewall {

struct Libnftables;  // the dlopen'ed library and its context (nft_firewall.cc)

class NftFirewall final : public Firewall {
 public:
  /// `generation_stamp`: where the generation after berth's own last change is kept
  /// (nft_generation.h); empty: SyncIfChanged always syncs.
  static Result<std::unique_ptr<NftFirewall>> Open(std::string generation_stamp = "");
  ~NftFirewall() override;

  Status Apply(const Delta& delta, const StateFn& state) override;
  Result<std::vector<std::string>> Missing(const Delta& expected) override;
  Result<std::vector<std::string>> Sync(const State& state) override;
  Result<std::vector<std::string>> SyncIfChanged(const StateFn& state) override;
  Result<std::vector<std::string>> Bridges() override;
  Status ForgetFlows(const std::vector<StaleFlow>& flows) override;
  /// Runs one JSON batch through libnftables; exposed for tests and benchmarks. `output`
  /// receives what it printed (a listing) when given.
  Status Run(const std::string& json, std::string* output = nullptr);

 private:
  NftFirewall();
  Status Rebuild(const State& state);
  /// After a change of berth's own: the generation it left the kernel in.
  void Restamp();
  /// The firewall's one nfnetlink socket, for element batches, the generation and the counted
  /// check: releasing an nfnetlink socket after element deletions waits for an RCU grace
  /// period, so it is released in the background then, and one socket means one such release.
  Result<NfnlSocket*> Socket();
  /// nf_tables' generation, asked on Socket().
  Result<uint32_t> Generation();
  std::string stamp_path_;
  std::optional<NfnlSocket> socket_;
  bool deleted_ = false;
  std::unique_ptr<Libnftables> nft_;
};

}  // namespace berth::firewall
