#include "firewall/nft_firewall.h"

#include <dlfcn.h>
#include <unistd.h>

#include "core/log.h"
#include "firewall/nft_generation.h"
#include "firewall/nft_verify.h"
#include "firewall/ruleset.h"
#include "firewall/render_json.h"
#include "sys/detach.h"

namespace berth::firewall {

// The libnftables calls berth makes, resolved at run time.
struct Libnftables {
  struct nft_ctx;
  void* handle = nullptr;
  nft_ctx* ctx = nullptr;
  nft_ctx* (*ctx_new)(uint32_t) = nullptr;
  void (*ctx_free)(nft_ctx*) = nullptr;
  void (*output_set_flags)(nft_ctx*, unsigned) = nullptr;
  int (*buffer_output)(nft_ctx*) = nullptr;
  int (*buffer_error)(nft_ctx*) = nullptr;
  const char* (*get_error_buffer)(nft_ctx*) = nullptr;
  const char* (*get_output_buffer)(nft_ctx*) = nullptr;
  int (*run_cmd_from_buffer)(nft_ctx*, const char*) = nullptr;

  ~Libnftables() {
    if (ctx) ctx_free(ctx);
    if (handle) dlclose(handle);
  }

  static Result<std::unique_ptr<Libnftables>> Load() {
    auto lib = std::make_unique<Libnftables>();
    lib->handle = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib->handle) {
      return Error::Unavailable(std::string("nftables: cannot load libnftables: ") + dlerror());
    }
    bool ok = lib->Resolve(lib->ctx_new, "nft_ctx_new") && lib->Resolve(lib->ctx_free, "nft_ctx_free") &&
              lib->Resolve(lib->output_set_flags, "nft_ctx_output_set_flags") &&
              lib->Resolve(lib->buffer_output, "nft_ctx_buffer_output") &&
              lib->Resolve(lib->buffer_error, "nft_ctx_buffer_error") &&
              lib->Resolve(lib->get_error_buffer, "nft_ctx_get_error_buffer") &&
              lib->Resolve(lib->get_output_buffer, "nft_ctx_get_output_buffer") &&
              lib->Resolve(lib->run_cmd_from_buffer, "nft_run_cmd_from_buffer");
    if (!ok) return Error::Unavailable("nftables: libnftables lacks an expected function");
    lib->ctx = lib->ctx_new(0 /* NFT_CTX_DEFAULT */);
    if (!lib->ctx) return Error::Unavailable("nftables: cannot create a context");
    // JSON output also selects JSON input in libnftables 1.0.x.
    lib->output_set_flags(lib->ctx, 1u << 4 /* NFT_CTX_OUTPUT_JSON */);
    lib->buffer_output(lib->ctx);
    lib->buffer_error(lib->ctx);
    return lib;
  }

 private:
  template <typename F>
  bool Resolve(F& fn, const char* name) {
    fn = reinterpret_cast<F>(dlsym(handle, name));
    return fn != nullptr;
  }
};

NftFirewall::NftFirewall() = default;
NftFirewall::~NftFirewall() {
  if (socket_ && deleted_) {
    int last = ::dup(socket_->fd());
    socket_.reset();
    if (last >= 0) sys::CloseInBackground(last);
  }
}

Result<NfnlSocket*> NftFirewall::Socket() {
  if (!socket_) {
    BERTH_ASSIGN_OR_RETURN(NfnlSocket s, NfnlSocket::Open());
    socket_.emplace(std::move(s));
  }
  return &*socket_;
}

Result<uint32_t> NftFirewall::Generation() {
  BERTH_ASSIGN_OR_RETURN(NfnlSocket * socket, Socket());
  return CurrentGeneration(*socket);
}

Result<std::unique_ptr<NftFirewall>> NftFirewall::Open(std::string generation_stamp) {
  std::unique_ptr<NftFirewall> fw(new NftFirewall());
  fw->stamp_path_ = std::move(generation_stamp);
  return fw;
}

void NftFirewall::Restamp() {
  if (stamp_path_.empty()) return;
  auto gen = Generation();
  if (gen.ok()) (void)GenerationStamp(stamp_path_).Store(*gen);
}

Result<std::vector<std::string>> NftFirewall::SyncIfChanged(const StateFn& state) {
  Result<uint32_t> now = Error::Unavailable("no generation stamp");
  if (!stamp_path_.empty()) {
    auto stamped = GenerationStamp(stamp_path_).Load();
    now = Generation();
    if (stamped.ok() && *stamped && now.ok() && **stamped == *now) {
      return std::vector<std::string>();
    }
  }
  BERTH_ASSIGN_OR_RETURN(State full, state());
  // Usually someone else's table moved the generation: a few counted queries on the
  // generation socket tell, without loading libnftables and listing the whole ruleset.
  if (socket_) {
    auto missing = MissingObjects(*socket_, Expected(full));
    if (missing.ok() && missing->empty()) {
      // The generation the check started from: a change made during or after the check
      // moves it past the stamp, so the next command checks again.
      if (now.ok()) (void)GenerationStamp(stamp_path_).Store(*now);
      return std::vector<std::string>();
    }
    // A fresh state root on a host without berth's table: nothing of berth's was lost (the
    // first network creates the table), so nobody is told it was restored.
    if (missing.ok() && full.networks.empty() && full.ports.empty() && full.services.empty() &&
        missing->size() == 1 &&
        missing->front().starts_with("table ")) {
      return std::vector<std::string>();
    }
  }
  BERTH_ASSIGN_OR_RETURN(auto diff, Sync(full));
  if (diff.empty()) Restamp();  // Sync restamps after a rebuild
  return diff;
}

Status NftFirewall::Run(const std::string& json, std::string* output) {
  if (!nft_) {
    BERTH_ASSIGN_OR_RETURN(nft_, Libnftables::Load());
  }
  int rc = nft_->run_cmd_from_buffer(nft_->ctx, json.c_str());
  // Reading a buffer empties it, so each call starts clean.
  std::string out = nft_->get_output_buffer(nft_->ctx);
  std::string err = nft_->get_error_buffer(nft_->ctx);
  if (output) *output = std::move(out);
  if (rc == 0) return Ok();
  while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
  return Error(Code::kSystem, "nftables: " + (err.empty() ? std::string("failed") : err));
}

Status NftFirewall::Apply(const Delta& delta, const StateFn& state) {
  if (delta.empty()) return Ok();
  if (!delta.remove_networks.empty() || !delta.remove_ports.empty() ||
      !delta.remove_services.empty()) {
    deleted_ = true;
  }
  auto wire = EncodeDelta(delta);
  // The element batch is for the per-container and per-service case; a bulk change (hundreds
  // of ports in one command, a backend joining thousands of services) goes through
  // libnftables, which splits what does not fit one message.
  if (wire && (wire->add.size() + wire->remove.size() > kMaxBatchElements ||
               wire->chains.refill.size() + wire->chains.add.size() > kMaxBatchChains)) {
    wire.reset();
  }
  Status first = Ok();
  if (wire) {
    auto socket = Socket();
    first = socket.ok() ? ApplyElements(**socket, *wire) : Status(std::move(socket).error());
    if (!first.ok()) log::Debug("nftables: element batch: " + first.error().message());
    // Something the batch does not encode (it sent nothing): libnftables carries it.
    if (!first.ok() && first.error().code() == Code::kInvalid) wire.reset();
  }
  if (!wire) first = Run(RenderDelta(delta));
  if (first.ok()) {
    Restamp();
    return Ok();
  }
  // berth's table is missing or was edited behind its back: make it match the store.
  BERTH_ASSIGN_OR_RETURN(State full, state());
  Status rebuilt = Rebuild(full);
  if (rebuilt.ok()) {
    Restamp();
    return Ok();
  }
  return Error(Code::kSystem, "update firewall: " + first.error().message() +
                                  "; rebuilding berth's table also failed: " +
                                  rebuilt.error().message());
}

Status NftFirewall::Rebuild(const State& state) {
  deleted_ = true;  // a rebuild flushes
  // Service chains come and go with services: the ones no record explains are deleted.
  static const std::string kList = JsonListTable(BerthRuleset().table);
  std::string listing;
  if (!Run(kList, &listing).ok()) listing.clear();
  StateBatches batches = RenderState(state, ParseJsonChains(BerthRuleset(), listing),
                                     ParseJsonSets(BerthRuleset(), listing));
  BERTH_TRY_CTX(Run(batches.create), "rebuild berth's table");
  BERTH_TRY_CTX(Run(batches.content), "rebuild berth's table");
  return Ok();
}

Result<std::vector<std::string>> NftFirewall::Sync(const State& state) {
  static const std::string kList = JsonListTable(BerthRuleset().table);
  std::string listing;
  if (!Run(kList, &listing).ok()) listing.clear();  // no table: Differences says so
  std::vector<std::string> diff = Differences(state, listing);
  if (!diff.empty()) {
    BERTH_TRY(Rebuild(state));
    Restamp();
  }
  return diff;
}

Result<std::vector<std::string>> NftFirewall::Bridges() {
  static const std::string kList = JsonListTable(BerthRuleset().table);
  std::string listing;
  std::vector<std::string> out;
  if (!Run(kList, &listing).ok()) return out;
  for (const Element& e : ParseJsonListing(BerthRuleset(), listing)) {
    if (e.set != "bridges" || e.key.empty()) continue;
    if (const auto* name = std::get_if<Ifname>(&e.key[0])) out.push_back(name->name);
  }
  return out;
}

Status NftFirewall::ForgetFlows(const std::vector<StaleFlow>& flows) {
  BERTH_ASSIGN_OR_RETURN(size_t deleted, ForgetUdpFlows(flows));
  (void)deleted;
  return Ok();
}

Result<std::vector<std::string>> NftFirewall::Missing(const Delta& expected) {
  static const std::string kList = JsonListTable(BerthRuleset().table);
  // A missing table is not an error here: everything expected is then missing.
  std::string listing;
  if (!Run(kList, &listing).ok()) listing.clear();
  return MissingElements(expected, listing);
}

}  // namespace berth::firewall
