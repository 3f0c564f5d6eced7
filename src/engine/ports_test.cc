#include "engine/ports.h"

#include <gtest/gtest.h>

namespace berth::engine {
namespace {

TEST(ParsePortSpec, DockerForms) {
  struct {
    const char* spec;
    const char* host_ip;
    uint16_t host_port, container_port, count;
    Protocol proto;
  } ok[] = {
      {"8080:80", "0.0.0.0", 8080, 80, 1, Protocol::kTcp},
      {"80", "0.0.0.0", 0, 80, 1, Protocol::kTcp},
      {"53/udp", "0.0.0.0", 0, 53, 1, Protocol::kUdp},
      {"127.0.0.1:8080:80/tcp", "127.0.0.1", 8080, 80, 1, Protocol::kTcp},
      {"127.0.0.1::80", "127.0.0.1", 0, 80, 1, Protocol::kTcp},
      {"8000-8002:80-82", "0.0.0.0", 8000, 80, 3, Protocol::kTcp},
      {"20000-20999:20000-20999/udp", "0.0.0.0", 20000, 20000, 1000, Protocol::kUdp},
      {"80-82", "0.0.0.0", 0, 80, 3, Protocol::kTcp},
      {"65535:1", "0.0.0.0", 65535, 1, 1, Protocol::kTcp},
  };
  for (const auto& c : ok) {
    auto r = ParsePortSpec(c.spec);
    ASSERT_TRUE(r.ok()) << c.spec << ": " << r.error().message();
    EXPECT_EQ(r->host_ip.ToString(), c.host_ip) << c.spec;
    EXPECT_EQ(r->host_port, c.host_port) << c.spec;
    EXPECT_EQ(r->container_port, c.container_port) << c.spec;
    EXPECT_EQ(r->count, c.count) << c.spec;
    EXPECT_EQ(r->protocol, c.proto) << c.spec;
  }
}

TEST(ParsePortSpec, RejectsBadSpecsClearly) {
  struct {
    const char* spec;
    const char* expect;
  } bad[] = {
      {"0", "outside 1-65535"},
      {"65536", "outside 1-65535"},
      {"abc", "not a port number"},
      {"8000-8002:80", "same length"},
      {"8080:80-81", "same length"},
      {"82-80", "ends before it starts"},
      {"80/sctp", "tcp or udp"},
      {":80", "empty host port"},
      {"1.2.3:80:80", "not an IP address"},
      {"[::1]:80:80", "IPv6"},
      {"", "not a port number"},
      {"8080:", "not a port number"},
      {"8080:80; flush ruleset", "not a port number"},
  };
  for (const auto& b : bad) {
    auto r = ParsePortSpec(b.spec);
    ASSERT_FALSE(r.ok()) << b.spec;
    EXPECT_NE(r.error().message().find(b.expect), std::string::npos)
        << b.spec << ": " << r.error().message();
    EXPECT_NE(r.error().message().find("invalid port spec"), std::string::npos);
  }
}

TEST(ReservePorts, ConflictsAndAutomaticPorts) {
  auto store = std::move(*store::Store::Open(":memory:"));
  // A container and endpoint to hang ports on (the schema requires them).
  auto nets = *store->ListNetworks();
  Container c;
  c.id = "c1";
  c.name = "web1";
  ASSERT_TRUE(store->InsertContainer(c).ok());
  Endpoint e;
  e.container_id = "c1";
  e.network_id = nets[0].id;
  e.ifname = "eth0";
  e.ip = *IpAddr::Parse("172.17.0.2");
  e.host_veth = "veth1";
  ASSERT_TRUE(store->InsertEndpoint(e).ok());
  auto reserve = [&](std::vector<const char*> specs) {
    std::vector<PortRequest> reqs;
    for (const char* s : specs) reqs.push_back(*ParsePortSpec(s));
    return ReservePorts(*store, reqs);
  };
  auto add = [&](const char* spec) {
    auto r = reserve({spec});
    ASSERT_TRUE(r.ok()) << spec << ": " << r.error().message();
    for (const auto& p : *r) ASSERT_TRUE(store->InsertPort("c1", nets[0].id, p).ok());
  };
  add("8080:80");
  add("127.0.0.1:9000:90");
  add("7000-7999:7000-7999");
  struct {
    const char* spec;
    bool conflict;
  } cases[] = {
      {"8080:81", true},            // same port on all addresses
      {"127.0.0.1:8080:80", true},  // a specific address under an all-addresses binding
      {"8080:80/udp", false},       // other protocol
      {"9000:90", true},            // all addresses over a specific one
      {"203.0.113.1:9000:90", false},
      {"7500:80", true},            // inside a published range
      {"6990-7005:6990-7005", true},
      {"8000-8002:80-82", false},
  };
  for (const auto& c : cases) {
    auto r = reserve({c.spec});
    EXPECT_EQ(!r.ok(), c.conflict) << c.spec;
    if (!r.ok()) {
      EXPECT_NE(r.error().message().find("already published by container web1"),
                std::string::npos)
          << r.error().message();
    }
  }
  // Two requests of one command overlapping each other.
  EXPECT_FALSE(reserve({"5000:1", "5000:2"}).ok());
  // Automatic ports: the first free one from 32768 on, then the next, never a taken one.
  add("32768:1");
  auto a = reserve({"80"});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)[0].host_port, 32769);
  auto b = reserve({"80-82"});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)[0].host_port, 32770);
  EXPECT_EQ((*b)[0].count, 3);
}

}  // namespace
}  // namespace berth::engine
