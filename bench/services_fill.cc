// services_fill: bench/services_scale.py's bulk path. Adds N services (selector app=web, port
// 80:8080, VIPs from 10.96.0.11 on) to the state store of ROOT on its network NET in one
// transaction, without touching the kernel: `berth system reconcile` then builds the firewall
// from the records in one transaction. Creating 10,000 services one `berth service create` at a
// time would take most of the benchmark's time budget on this machine.
//
//   build/bench/services_fill ROOT NET N
//   build/bench/services_fill ROOT NET clear    (forgets every service: a bench level is then
//                                               torn down without a change per service)
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "core/ids.h"
#include "store/store.h"

using namespace berth;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: services_fill ROOT NET N\n");
    return 2;
  }
  auto store = store::Store::Open(std::string(argv[1]) + "/berth.db");
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.error().message().c_str());
    return 1;
  }
  auto tx = (*store)->Write();
  if (!tx.ok()) return 1;
  if (std::string(argv[3]) == "clear") {
    auto all = (*store)->ListServices();
    if (!all.ok()) return 1;
    for (const Service& s : *all) {
      if (!(*store)->DeleteService(s.id).ok()) return 1;
    }
    return tx->Commit().ok() ? 0 : 1;
  }
  int n = std::atoi(argv[3]);
  auto net = (*store)->FindNetwork(argv[2]);
  if (!net.ok() || !*net) {
    std::fprintf(stderr, "no network %s\n", argv[2]);
    return 1;
  }
  for (int i = 0; i < n; ++i) {
    Service s;
    s.id = NewId();
    s.name = "s" + std::to_string(i);
    s.network_id = (*net)->id;
    // The bench's own scheme (services_scale.py vip()): 10.96.X.Y from 10.96.0.11.
    s.vip = IpAddr::V4((10u << 24) | (96u << 16) | (static_cast<uint32_t>((i + 10) / 250) << 8) |
                       static_cast<uint32_t>((i + 10) % 250 + 1));
    s.selector = {{"app", "web"}};
    s.ports = {{80, 8080, Protocol::kTcp}};
    s.created = static_cast<int64_t>(std::time(nullptr));
    Status st = (*store)->InsertService(s);
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.error().message().c_str());
      return 1;
    }
  }
  return tx->Commit().ok() ? 0 : 1;
}
