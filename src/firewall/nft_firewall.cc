#include "firewall/nft_firewall.h"

#include <nftables/libnftables.h>

namespace berth::firewall {

Result<std::unique_ptr<NftFirewall>> NftFirewall::Open() {
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!ctx) return Error::Unavailable("nftables: cannot create a context");
  // JSON output also selects JSON input in libnftables 1.0.x.
  nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  return std::unique_ptr<NftFirewall>(new NftFirewall(ctx));
}

NftFirewall::~NftFirewall() { nft_ctx_free(ctx_); }

Status NftFirewall::Run(const std::string& json) {
  if (nft_run_cmd_from_buffer(ctx_, json.c_str()) == 0) return Ok();
  std::string err = nft_ctx_get_error_buffer(ctx_);
  while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
  return Error(Code::kSystem, "nftables: " + (err.empty() ? std::string("failed") : err));
}

Status NftFirewall::Apply(const Delta& delta, const StateFn& state) {
  if (delta.empty()) return Ok();
  Status first = Run(RenderDelta(delta));
  if (first.ok()) return Ok();
  BERTH_ASSIGN_OR_RETURN(State full, state());
  StateBatches batches = RenderState(full);
  Status rebuilt = Run(batches.create);
  if (rebuilt.ok()) rebuilt = Run(batches.content);
  if (rebuilt.ok()) return Ok();
  return Error(Code::kSystem, "update firewall: " + first.error().message() +
                                  "; rebuilding berth's table also failed: " +
                                  rebuilt.error().message());
}

Result<std::vector<std::string>> NftFirewall::Missing(const Delta& expected) {
  static const char kList[] =
      R"({"nftables":[{"list":{"table":{"family":"inet","name":"berth"}}}]})";
  // A missing table is not an error here: everything expected is then missing.
  std::string listing;
  if (nft_run_cmd_from_buffer(ctx_, kList) == 0) {
    listing = nft_ctx_get_output_buffer(ctx_);
  } else {
    (void)nft_ctx_get_output_buffer(ctx_);  // reading the buffers empties them
    (void)nft_ctx_get_error_buffer(ctx_);
  }
  return MissingElements(expected, listing);
}

}  // namespace berth::firewall
