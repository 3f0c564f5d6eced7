// berth events [--since DURATION] [--format json]: what berthd recorded (diagnose/events.h).
#include <chrono>
#include <iostream>

#include "cli/commands.h"
#include "diagnose/events.h"

namespace berth::cli {

int Events(const Globals& g, const std::string& since) {
  double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  double from = 0;
  if (!since.empty()) {
    auto s = diagnose::ParseSince(since, now);
    if (!s.ok()) return Fail(s.error(), 125);
    from = *s;
  }
  auto events = diagnose::ReadEvents(g.root, from);
  if (!events.ok()) return Fail(events.error());
  for (const diagnose::Event& e : *events) {
    std::cout << (g.format == "json" ? diagnose::ToJson(e) : diagnose::ToText(e)) << "\n";
  }
  return 0;
}

}  // namespace berth::cli
