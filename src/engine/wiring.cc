#include "engine/wiring.h"

#include "engine/dns.h"
#include "firewall/nft_firewall.h"
#include "net/nl_link_ops.h"

namespace berth::engine {

Wiring KernelWiring(const std::string& root) {
  Wiring w;
  w.links = [](int fd) -> Result<std::unique_ptr<net::LinkOps>> {
    BERTH_ASSIGN_OR_RETURN(auto ops, net::NlLinkOps::Open(fd));
    return std::unique_ptr<net::LinkOps>(std::move(ops));
  };
  w.firewall = [stamp = Paths{root}.firewall_generation()]()
      -> Result<std::unique_ptr<firewall::Firewall>> {
    BERTH_ASSIGN_OR_RETURN(auto fw, firewall::NftFirewall::Open(stamp));
    return std::unique_ptr<firewall::Firewall>(std::move(fw));
  };
  return w;
}

Wiring DefaultWiring(const std::string& root) {
  Wiring w = KernelWiring(root);
  w.notifier = MakeBerthdNotifier(Paths{root});
  return w;
}

}  // namespace berth::engine
