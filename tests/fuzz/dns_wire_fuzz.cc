// libFuzzer target for the DNS wire parser and responder (dns/wire.h, dns/table.h): arbitrary
// bytes as a query from a container, from the host and from a stranger, at every size limit
// the server uses. Checks what must hold for any input: no crash or sanitizer report, answers
// never exceed their limit, and a response never parses as a query (no reflection loops).
//
// Built with clang (-DBERTH_FUZZ=ON); scripts/bootstrap.sh test runs it for a bounded number of
// iterations from tests/fuzz/corpus/dns_wire.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <vector>

#include "dns/table.h"
#include "dns/wire.h"

namespace {

using berth::Cidr;
using berth::IpAddr;
namespace dns = berth::dns;

const dns::Table& TestTable() {
  static std::shared_ptr<const dns::Table> table = [] {
    dns::TableSpec s;
    s.networks.push_back({"mon", {*IpAddr::Parse("172.18.0.1")},
                          {*Cidr::ParseNetwork("172.18.0.0/16")}, false});
    for (int i = 0; i < 40; ++i) {
      IpAddr ip = IpAddr::Parse("172.18.0.10")->Plus(static_cast<unsigned>(i));
      s.endpoints.push_back({0, ip, {"c" + std::to_string(i), "big", "a.b.c"}, ""});
    }
    return dns::Table::Build(s);
  }();
  return *table;
}

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view packet(reinterpret_cast<const char*>(data), size);
  static std::vector<uint8_t> buf(dns::kMaxTcpMessage);
  auto q = std::make_unique<dns::Query>();
  dns::ParseResult pr = dns::ParseQuery(packet, q.get());
  const dns::Requester who[] = {
      {*IpAddr::Parse("172.18.0.10"), *IpAddr::Parse("172.18.0.1"), false},
      {*IpAddr::Parse("172.18.0.1"), *IpAddr::Parse("172.18.0.1"), true},
      {*IpAddr::Parse("203.0.113.9"), *IpAddr::Parse("172.18.0.1"), false},
  };
  const size_t limits[] = {dns::kMinUdpPayload, q->UdpLimit(), dns::kMaxTcpMessage};
  for (const dns::Requester& r : who) {
    for (size_t limit : limits) {
      dns::ResponseWriter w(buf.data(), limit);
      dns::Verdict v = dns::Respond(TestTable(), *q, pr, r, static_cast<uint32_t>(size), w);
      if (v != dns::Verdict::kAnswer) continue;
      size_t n = w.Finish();
      Check(n >= dns::kHeaderSize && n <= limit);
      auto back = std::make_unique<dns::Query>();
      std::string_view resp(reinterpret_cast<const char*>(buf.data()), n);
      Check(dns::ParseQuery(resp, back.get()) == dns::ParseResult::kDrop);
      Check(back->id == q->id);
    }
  }
  // The name reader on its own, from every offset.
  uint8_t name[dns::kMaxNameWire];
  for (size_t off = 0; off < size && off < 64; ++off) {
    size_t pos = off;
    size_t n = dns::ReadName(packet, &pos, name);
    Check(n <= dns::kMaxNameWire && pos <= size);
  }
  return 0;
}
