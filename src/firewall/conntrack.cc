#include "firewall/conntrack.h"

#include <arpa/inet.h>
#include <dlfcn.h>

#include <cerrno>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <netinet/in.h>

namespace berth::firewall {

namespace {

// The libnetfilter_conntrack calls made here, resolved at run time.
struct Lib {
  void* handle = nullptr;
  decltype(&nfct_open) open = nullptr;
  decltype(&nfct_close) close = nullptr;
  decltype(&nfct_callback_register) callback_register = nullptr;
  decltype(&nfct_query) query = nullptr;
  decltype(&nfct_get_attr_u8) get_u8 = nullptr;
  decltype(&nfct_get_attr_u16) get_u16 = nullptr;
  decltype(&nfct_get_attr_u32) get_u32 = nullptr;

  static Result<const Lib*> Get() {
    static Lib lib;
    static bool tried = false;
    if (!tried) {
      tried = true;
      lib.handle = dlopen("libnetfilter_conntrack.so.3", RTLD_NOW | RTLD_LOCAL);
      if (lib.handle) {
        bool ok = lib.Resolve(lib.open, "nfct_open") && lib.Resolve(lib.close, "nfct_close") &&
                  lib.Resolve(lib.callback_register, "nfct_callback_register") &&
                  lib.Resolve(lib.query, "nfct_query") &&
                  lib.Resolve(lib.get_u8, "nfct_get_attr_u8") &&
                  lib.Resolve(lib.get_u16, "nfct_get_attr_u16") &&
                  lib.Resolve(lib.get_u32, "nfct_get_attr_u32");
        if (!ok) lib.open = nullptr;
      }
    }
    if (!lib.open) {
      return Error::Unavailable("conntrack: cannot load libnetfilter_conntrack.so.3");
    }
    return &lib;
  }

 private:
  template <typename F>
  bool Resolve(F& fn, const char* name) {
    fn = reinterpret_cast<F>(dlsym(handle, name));
    return fn != nullptr;
  }
};

struct Dump {
  const Lib* lib;
  nfct_handle* destroyer;
  const std::vector<StaleFlow>* flows;
  size_t deleted = 0;
};

uint32_t Be32(const IpAddr& ip) { return htonl(static_cast<uint32_t>(ip.ToU128())); }

int OnEntry(enum nf_conntrack_msg_type, struct nf_conntrack* ct, void* data) {
  auto* d = static_cast<Dump*>(data);
  const Lib& lib = *d->lib;
  if (lib.get_u8(ct, ATTR_L4PROTO) != IPPROTO_UDP) return NFCT_CB_CONTINUE;
  uint32_t dst = lib.get_u32(ct, ATTR_ORIG_IPV4_DST);
  uint16_t dport = lib.get_u16(ct, ATTR_ORIG_PORT_DST);
  uint32_t reply_src = lib.get_u32(ct, ATTR_REPL_IPV4_SRC);
  for (const StaleFlow& f : *d->flows) {
    if (dst == Be32(f.vip) && dport == htons(f.port) && reply_src == Be32(f.backend)) {
      if (lib.query(d->destroyer, NFCT_Q_DESTROY, ct) == 0) ++d->deleted;
      break;
    }
  }
  return NFCT_CB_CONTINUE;
}

}  // namespace

Result<size_t> ForgetUdpFlows(const std::vector<StaleFlow>& flows) {
  if (flows.empty()) return size_t{0};
  BERTH_ASSIGN_OR_RETURN(const Lib* lib, Lib::Get());
  // One handle dumps, the other deletes: a handle cannot be queried from its own callback.
  nfct_handle* dumper = lib->open(CONNTRACK, 0);
  if (!dumper) return Error::System("conntrack: open", errno);
  nfct_handle* destroyer = lib->open(CONNTRACK, 0);
  if (!destroyer) {
    lib->close(dumper);
    return Error::System("conntrack: open", errno);
  }
  Dump dump{lib, destroyer, &flows};
  lib->callback_register(dumper, NFCT_T_ALL, OnEntry, &dump);
  uint32_t family = AF_INET;
  int rc = lib->query(dumper, NFCT_Q_DUMP, &family);
  lib->close(destroyer);
  lib->close(dumper);
  if (rc < 0) return Error::System("conntrack: dump", errno);
  return dump.deleted;
}

}  // namespace berth::firewall
