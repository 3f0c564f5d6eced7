// Golden test: what berth sends nftables for a fixed state (the table rebuild, element deltas in
// JSON and on the wire, the explain text, a listing diff) must not change by accident. The
// golden file was written by the JSON-built ruleset before the typed model replaced it; the
// kernel therefore sees the same ruleset. To accept an intended change, run the test with
// BERTH_UPDATE_GOLDEN=1 and review the diff of testdata/ruleset.golden.
#include <gtest/gtest.h>

#include "firewall/ruleset.h"
#include "firewall/golden_file.h"

namespace berth::firewall {
namespace {

std::string Hex(const std::string& bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

std::string Wire(const std::optional<WireDelta>& w) {
  if (!w) return "(libnftables)\n";
  std::string out;
  using List = std::pair<const char*, const std::vector<WireElement>*>;
  for (const auto& [verb, list] : {List{"delete", &w->remove}, List{"add", &w->add}}) {
    for (const WireElement& e : *list) {
      out += std::string(verb) + " " + e.set + " " + Hex(e.key) + " " + Hex(e.data) + "\n";
    }
  }
  return out;
}

PortRule Port(const char* host_ip, Protocol proto, uint16_t hp, uint16_t count, const char* cip,
              uint16_t cp) {
  return {*IpAddr::Parse(host_ip), proto, hp, count, *IpAddr::Parse(cip), cp};
}

std::string Render() {
  State s;
  s.networks = {{"br-a", *Cidr::ParseNetwork("172.18.0.0/16"), true, true, false},
                {"br-i", *Cidr::ParseNetwork("10.9.0.0/24"), true, true, true},
                {"br-q", *Cidr::ParseNetwork("10.10.0.0/24"), false, false, false},
                {"br-c", *Cidr::ParseNetwork("10.244.3.0/24"), true, true, false,
                 *Cidr::ParseNetwork("10.244.0.0/16")}};
  s.ports = {Port("0.0.0.0", Protocol::kTcp, 8080, 1, "172.18.0.2", 80),
             Port("0.0.0.0", Protocol::kUdp, 9000, 1000, "172.18.0.3", 9000),
             Port("127.0.0.1", Protocol::kTcp, 8000, 2, "172.18.0.2", 80),
             Port("127.0.0.1", Protocol::kTcp, 7000, 10, "172.18.0.4", 7000),
             Port("0.0.0.0", Protocol::kTcp, 9100, 3, "10.10.0.2", 80)};
  Delta all{s.networks, {}, s.ports, {}};
  Delta ports;
  ports.add_ports = {s.ports[0], s.ports[2], s.ports[4]};
  ports.remove_ports = {Port("0.0.0.0", Protocol::kUdp, 53, 1, "172.18.0.9", 5353)};
  StateBatches b = RenderState(s);
  std::string out;
  out += "== state.create\n" + b.create + "\n";
  out += "== state.content\n" + b.content + "\n";
  out += "== delta.add\n" + RenderDelta(all) + "\n";
  out += "== delta.remove\n" + RenderDelta(all.Inverse()) + "\n";
  out += "== delta.ports\n" + RenderDelta(ports) + "\n";
  out += "== explain.add\n" + ExplainDelta(all);
  out += "== explain.remove\n" + ExplainDelta(all.Inverse());
  out += "== wire.all\n" + Wire(EncodeDelta(all));
  out += "== wire.ports\n" + Wire(EncodeDelta(ports));
  out += "== wire.ports.inverse\n" + Wire(EncodeDelta(ports.Inverse()));
  out += "== missing.no_table\n";
  for (const std::string& m : MissingElements(all, "")) out += m + "\n";
  return out;
}

TEST(Golden, RulesetRenderingsAreUnchanged) {
  testing::ExpectGolden("ruleset.golden", Render());
}

}  // namespace
}  // namespace berth::firewall
