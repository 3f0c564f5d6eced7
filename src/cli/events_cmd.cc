// berth events [--since DURATION] [--format json]: what berthd recorded (diagnose/events.h).
#include <chrono>
#include <fstream>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "diagnose/events.h"

namespace berth::cli {

namespace {

// --follow: prints the events appended to the log from now on, until killed (Ctrl-C). The log
// is only ever appended to, or moved aside whole when it grows large (then read afresh).
int Follow(const Globals& g) {
  std::string path = diagnose::EventsPath(g.root);
  std::ifstream in(path);
  in.seekg(0, std::ios::end);
  std::streamoff at = in ? static_cast<std::streamoff>(in.tellg()) : 0;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::ifstream f(path);
    if (!f) continue;
    f.seekg(0, std::ios::end);
    std::streamoff size = f.tellg();
    if (size < at) at = 0;  // rotated
    f.seekg(at);
    std::string line;
    while (std::getline(f, line)) {
      if (f.eof()) break;  // a line still being written: read it next time
      at += static_cast<std::streamoff>(line.size()) + 1;
      auto e = diagnose::ParseEvent(line);
      if (!e) continue;
      std::cout << (g.format == "json" ? diagnose::ToJson(*e) : diagnose::ToText(*e)) << std::endl;
    }
  }
}

}  // namespace

int Events(const Globals& g, const std::string& since, bool follow) {
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
  if (follow) {
    std::cout.flush();
    return Follow(g);
  }
  return 0;
}

}  // namespace berth::cli
