#include "dns/wire.h"

#include <gtest/gtest.h>

#include <string>

#include "dns/test_util.h"

namespace berth::dns {
namespace {

using testing_util::MakeQuery;

TEST(Wire, ParsesAQueryAndKeepsTheClientsCase) {
  std::string pkt = MakeQuery(0x1234, "VictoriaMetrics", type::kA);
  Query q;
  ASSERT_EQ(ParseQuery(pkt, &q), ParseResult::kOk);
  EXPECT_EQ(q.id, 0x1234);
  EXPECT_TRUE(q.rd());
  EXPECT_EQ(q.qtype, type::kA);
  EXPECT_EQ(q.qclass, kClassIn);
  EXPECT_EQ(q.name(), "victoriametrics");
  EXPECT_TRUE(q.qname_plain);
  EXPECT_FALSE(q.has_edns);
  EXPECT_EQ(q.UdpLimit(), 512u);
  // The wire form keeps the case, for echoing.
  EXPECT_EQ(std::string(reinterpret_cast<char*>(q.qname_wire) + 1, 15), "VictoriaMetrics");
}

TEST(Wire, DropsResponsesAndRunts) {
  Query q;
  EXPECT_EQ(ParseQuery("short", &q), ParseResult::kDrop);
  std::string pkt = MakeQuery(1, "a", type::kA);
  pkt[2] = static_cast<char>(pkt[2] | 0x80);  // QR
  EXPECT_EQ(ParseQuery(pkt, &q), ParseResult::kDrop);
}

TEST(Wire, MalformedIsFormErr) {
  Query q;
  std::string pkt = MakeQuery(1, "abc", type::kA);
  EXPECT_EQ(ParseQuery(pkt.substr(0, pkt.size() - 2), &q), ParseResult::kFormErr);
  std::string two = pkt;
  two[5] = 2;  // QDCOUNT 2
  EXPECT_EQ(ParseQuery(two, &q), ParseResult::kFormErr);
  std::string zero = pkt;
  zero[5] = 0;
  EXPECT_EQ(ParseQuery(zero, &q), ParseResult::kFormErr);
  std::string label = pkt;
  label[12] = 0x40;  // reserved label type
  EXPECT_EQ(ParseQuery(label, &q), ParseResult::kFormErr);
  std::string arcount = pkt;
  arcount[11] = 1;  // promises an additional record that is not there
  EXPECT_EQ(ParseQuery(arcount, &q), ParseResult::kFormErr);
}

TEST(Wire, OtherOpcodesAreNotImplemented) {
  std::string pkt = MakeQuery(1, "a", type::kA);
  pkt[2] = static_cast<char>(pkt[2] | (5 << 3));  // UPDATE
  Query q;
  EXPECT_EQ(ParseQuery(pkt, &q), ParseResult::kNotImp);
}

TEST(Wire, CompressionLoopsAreRejected) {
  // Header, then a name that is a pointer to itself.
  std::string pkt = MakeQuery(1, "a", type::kA).substr(0, 12);
  pkt += std::string("\xc0\x0c\x00\x01\x00\x01", 6);
  Query q;
  EXPECT_EQ(ParseQuery(pkt, &q), ParseResult::kFormErr);
}

TEST(Wire, NameOfMaximumLengthParsesOneMoreDoesNot) {
  std::string label(63, 'a');
  std::string name = label + "." + label + "." + label + "." + std::string(61, 'b');  // 253
  Query q;
  EXPECT_EQ(ParseQuery(MakeQuery(1, name, type::kA), &q), ParseResult::kOk);
  EXPECT_EQ(q.qname_wire_len, 255);
  EXPECT_EQ(ParseQuery(MakeQuery(1, name + "b", type::kA), &q), ParseResult::kFormErr);
}

TEST(Wire, EdnsIsParsedAndEchoed) {
  std::string pkt = MakeQuery(7, "web", type::kA, /*edns_size=*/1400, /*do_bit=*/true);
  Query q;
  ASSERT_EQ(ParseQuery(pkt, &q), ParseResult::kOk);
  EXPECT_TRUE(q.has_edns);
  EXPECT_EQ(q.edns_udp_size, 1400);
  EXPECT_TRUE(q.edns_do);
  EXPECT_EQ(q.UdpLimit(), 1400u);
  uint8_t buf[512];
  ResponseWriter w(buf, q.UdpLimit());
  w.Begin(q, Rcode::kNoError, true);
  uint8_t ip[4] = {10, 0, 0, 1};
  w.AddA(ip, 0);
  size_t n = w.Finish();
  std::string resp(reinterpret_cast<char*>(buf), n);
  auto r = testing_util::ParseResponse(resp);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.id, 7);
  EXPECT_EQ(r.rcode, 0);
  EXPECT_TRUE(r.aa);
  EXPECT_TRUE(r.ra);
  EXPECT_TRUE(r.rd);
  EXPECT_EQ(r.qname, "web");
  ASSERT_EQ(r.a.size(), 1u);
  EXPECT_EQ(r.a[0], "10.0.0.1");
  EXPECT_TRUE(r.has_opt);
  EXPECT_TRUE(r.opt_do);
}

TEST(Wire, TinyEdnsSizeMeans512AndHugeMeansOurMaximum) {
  Query q;
  ASSERT_EQ(ParseQuery(MakeQuery(1, "a", type::kA, 100), &q), ParseResult::kOk);
  EXPECT_EQ(q.UdpLimit(), 512u);
  ASSERT_EQ(ParseQuery(MakeQuery(1, "a", type::kA, 65000), &q), ParseResult::kOk);
  EXPECT_EQ(q.UdpLimit(), kMaxUdpPayload);
}

TEST(Wire, BadEdnsVersion) {
  std::string pkt = MakeQuery(1, "a", type::kA, 1232);
  pkt[pkt.size() - 5] = 1;  // OPT TTL: version byte
  Query q;
  EXPECT_EQ(ParseQuery(pkt, &q), ParseResult::kBadVers);
  uint8_t buf[512];
  ResponseWriter w(buf, 512);
  w.Begin(q, Rcode::kBadVers, false);
  auto r = testing_util::ParseResponse(std::string(reinterpret_cast<char*>(buf), w.Finish()));
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(r.has_opt);
  EXPECT_EQ(r.rcode, 0);         // low bits
  EXPECT_EQ(r.opt_ext_rcode, 1);  // 16 >> 4
}

TEST(Wire, TooManyAnswersSetTcAndKeepTheQuestion) {
  Query q;
  ASSERT_EQ(ParseQuery(MakeQuery(9, "many", type::kA), &q), ParseResult::kOk);
  uint8_t buf[512];
  ResponseWriter w(buf, 512);
  w.Begin(q, Rcode::kNoError, true);
  for (int i = 0; i < 40; ++i) {
    uint8_t ip[4] = {10, 0, 0, static_cast<uint8_t>(i)};
    w.AddA(ip, 0);
  }
  EXPECT_TRUE(w.truncated());
  auto r = testing_util::ParseResponse(std::string(reinterpret_cast<char*>(buf), w.Finish()));
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(r.tc);
  EXPECT_EQ(r.qname, "many");
  EXPECT_TRUE(r.a.empty());
}

TEST(Wire, ThirtyAnswersFitIn512) {
  Query q;
  ASSERT_EQ(ParseQuery(MakeQuery(9, "many", type::kA), &q), ParseResult::kOk);
  uint8_t buf[512];
  ResponseWriter w(buf, 512);
  w.Begin(q, Rcode::kNoError, true);
  for (int i = 0; i < 30; ++i) {
    uint8_t ip[4] = {10, 0, 0, static_cast<uint8_t>(i)};
    w.AddA(ip, 0);
  }
  auto r = testing_util::ParseResponse(std::string(reinterpret_cast<char*>(buf), w.Finish()));
  ASSERT_TRUE(r.ok);
  EXPECT_FALSE(r.tc);
  EXPECT_EQ(r.a.size(), 30u);
}

TEST(Wire, PtrTargetsAreWrittenAsNames) {
  Query q;
  ASSERT_EQ(ParseQuery(MakeQuery(3, "2.0.18.172.in-addr.arpa", type::kPtr), &q), ParseResult::kOk);
  uint8_t buf[512];
  ResponseWriter w(buf, 512);
  w.Begin(q, Rcode::kNoError, true);
  w.AddPtr("web.1", 0);
  auto r = testing_util::ParseResponse(std::string(reinterpret_cast<char*>(buf), w.Finish()));
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(r.ptr.size(), 1u);
  EXPECT_EQ(r.ptr[0], "web.1");
}

TEST(Wire, SrvWithTheTargetsAddressInTheAdditionalSection) {
  Query q;
  ASSERT_EQ(ParseQuery(MakeQuery(4, "_80._tcp.web", type::kSrv, 1232), &q), ParseResult::kOk);
  uint8_t buf[512];
  ResponseWriter w(buf, 512);
  w.Begin(q, Rcode::kNoError, true);
  w.AddSrv(0, 100, 80, "web", 0);
  const uint8_t vip[4] = {10, 96, 0, 5};
  w.AddAdditionalAddress("web", vip, 4, 0);
  auto r = testing_util::ParseResponse(std::string(reinterpret_cast<char*>(buf), w.Finish()));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.ancount, 1);
  EXPECT_EQ(r.arcount, 2);  // the A record and OPT
  EXPECT_TRUE(r.has_opt);
  ASSERT_EQ(r.srv.size(), 1u);
  EXPECT_EQ(r.srv[0].priority, 0);
  EXPECT_EQ(r.srv[0].weight, 100);
  EXPECT_EQ(r.srv[0].port, 80);
  EXPECT_EQ(r.srv[0].target, "web");
  EXPECT_TRUE(r.a.empty());
  EXPECT_EQ(r.additional_a, std::vector<std::string>{"web A 10.96.0.5"});
}

TEST(Wire, AdditionalRecordsThatDoNotFitAreDroppedWithoutTc) {
  Query q;
  ASSERT_EQ(ParseQuery(MakeQuery(4, "_80._tcp.web", type::kSrv), &q), ParseResult::kOk);
  uint8_t buf[512];
  ResponseWriter w(buf, 512);
  w.Begin(q, Rcode::kNoError, true);
  std::string target(60, 'x');
  target += "." + std::string(60, 'y') + "." + std::string(60, 'z');
  for (int i = 0; i < 2; ++i) w.AddSrv(0, 100, static_cast<uint16_t>(80 + i), target, 0);
  const uint8_t vip[4] = {10, 96, 0, 5};
  for (int i = 0; i < 4; ++i) w.AddAdditionalAddress(target, vip, 4, 0);
  auto r = testing_util::ParseResponse(std::string(reinterpret_cast<char*>(buf), w.Finish()));
  ASSERT_TRUE(r.ok);
  EXPECT_FALSE(r.tc);
  EXPECT_EQ(r.srv.size(), 2u);
  EXPECT_LT(r.additional_a.size(), 4u);
  EXPECT_EQ(r.arcount, r.additional_a.size());
}

TEST(Wire, NameWireLength) {
  EXPECT_EQ(NameWireLength(""), 1u);
  EXPECT_EQ(NameWireLength("web"), 5u);
  EXPECT_EQ(NameWireLength("web."), 5u);
  EXPECT_EQ(NameWireLength("a.b"), 5u);
  EXPECT_EQ(NameWireLength("a..b"), 0u);
  EXPECT_EQ(NameWireLength(std::string(64, 'a')), 0u);
}

TEST(Wire, ReverseNames) {
  uint32_t v4;
  ASSERT_TRUE(ParseReverseV4("4.3.2.1.in-addr.arpa", &v4));
  EXPECT_EQ(v4, 0x01020304u);
  EXPECT_FALSE(ParseReverseV4("3.2.1.in-addr.arpa", &v4));
  EXPECT_FALSE(ParseReverseV4("256.3.2.1.in-addr.arpa", &v4));
  EXPECT_FALSE(ParseReverseV4("5.4.3.2.1.in-addr.arpa", &v4));
  EXPECT_FALSE(ParseReverseV4("a.3.2.1.in-addr.arpa", &v4));
  uint8_t v6[16];
  std::string name;
  // 2001:db8::1 reversed.
  const char* nibbles = "1000000000000000000000008bd01002";
  for (int i = 0; i < 32; ++i) name += std::string(1, nibbles[i]) + ".";
  name += "ip6.arpa";
  ASSERT_TRUE(ParseReverseV6(name, v6));
  EXPECT_EQ(v6[0], 0x20);
  EXPECT_EQ(v6[1], 0x01);
  EXPECT_EQ(v6[2], 0x0d);
  EXPECT_EQ(v6[3], 0xb8);
  EXPECT_EQ(v6[15], 0x01);
}

}  // namespace
}  // namespace berth::dns
