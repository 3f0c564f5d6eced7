// libFuzzer target for the --format template engine (core/template.h): arbitrary bytes as a
// template, parsed both as a plain template and as a docker list format, then executed over a
// document shaped like `berth inspect`'s. Checks what must hold for any input: no crash or
// sanitizer report, parse and execution either succeed or return an error, output stays under
// the cap, and a template that parses once parses the same way again.
//
// Built with clang (-DBERTH_FUZZ=ON); scripts/bootstrap.sh test runs it for a bounded number of
// iterations from tests/fuzz/corpus/template.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/template.h"

namespace {

namespace tmpl = berth::tmpl;
using nlohmann::json;

const json& Document() {
  static const json doc = json::parse(R"({
    "Id": "0123456789abcdef", "Name": "/web", "name": "web", "exit_code": null,
    "State": {"Pid": 4242, "Running": true, "Status": "running", "ExitCode": 0},
    "Config": {"Hostname": "web", "Cmd": ["sleep", "100"], "Env": []},
    "NetworkSettings": {"IPAddress": "10.9.0.2", "Networks": {
      "web": {"IPAddress": "10.9.0.2", "Aliases": ["w", "x"]}, "db": {"IPAddress": "10.8.0.3"}}},
    "Labels": {"a": "1", "b-c": "2"}, "ratio": 1.5, "big": -9223372036854775807,
    "nested": [[1, 2], [3, [4, {"k": "v"}]]], "text": "h\u00e9llo \"q\""
  })");
  return doc;
}

void Check(const tmpl::Template& t) {
  auto out = t.Execute(Document());
  if (out.ok() && out->size() > tmpl::kMaxOutput) std::abort();
  if (out.ok()) (void)tmpl::AlignColumns(*out);
  (void)t.Execute(t.HeaderDocument([](const std::string& f) { return f; }));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = tmpl::Template::Parse(text);
  auto again = tmpl::Template::Parse(text);
  if (t.ok() != again.ok()) std::abort();  // parsing is deterministic
  if (t.ok()) Check(*t);
  auto list = tmpl::ParseListFormat(text);
  if (list.ok()) Check(list->row);
  return 0;
}
