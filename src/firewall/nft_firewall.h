// NftFirewall: the libnftables backend. One nft context per process, created on first use and
// kept: each Apply is a single nft_run_cmd_from_buffer (one kernel transaction), with the
// context's error buffer turned into the Error text.
#pragma once

#include <memory>
#include <string>

#include "firewall/firewall.h"

struct nft_ctx;

namespace berth::firewall {

class NftFirewall final : public Firewall {
 public:
  static Result<std::unique_ptr<NftFirewall>> Open();
  ~NftFirewall() override;

  Status Apply(const Delta& delta, const StateFn& state) override;
  Result<std::vector<std::string>> Missing(const Delta& expected) override;
  /// Runs one JSON batch; exposed for tests and `berth` debugging tools.
  Status Run(const std::string& json);

 private:
  explicit NftFirewall(nft_ctx* ctx) : ctx_(ctx) {}
  nft_ctx* ctx_;
};

}  // namespace berth::firewall
