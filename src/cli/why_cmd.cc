// berth why SRC DST[:PORT][/udp]: a verdict, a cause code, a sentence or two and a fix
// (diagnose/why.h). Exit status 0 when reachable, 1 when not, as scripts expect of a check.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "diagnose/why.h"
#include "engine/wiring.h"

namespace berth::cli {

int Why(const Globals& g, const std::string& src, const std::string& dst) {
  auto req = diagnose::ParseWhy(src, dst);
  if (!req.ok()) return Fail(req.error(), 125);
  auto engine = engine::Engine::Open(g.root, engine::KernelWiring(g.root));
  if (!engine.ok()) return Fail(engine.error());
  auto a = diagnose::Why(**engine, *req);
  if (!a.ok()) return Fail(a.error());
  if (g.format == "json") {
    nlohmann::json j = {{"reachable", a->reachable}, {"cause", a->cause},
                        {"explanation", a->explanation}, {"fix", a->fix},
                        {"probe", a->probe}};
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << (a->reachable ? "reachable" : "unreachable") << "\n"
              << "cause: " << a->cause << "\n"
              << a->explanation << "\n";
    if (!a->fix.empty()) std::cout << "fix: " << a->fix << "\n";
  }
  return a->reachable ? 0 : 1;
}

}  // namespace berth::cli
