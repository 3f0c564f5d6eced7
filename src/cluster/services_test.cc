#include "cluster/services.h"

#include <gtest/gtest.h>

#include "etcd/test_etcd.h"

namespace berth::cluster {
namespace {

TEST(ClusterServices, RecordRoundTrip) {
  Service s;
  s.id = "4c3e2795e9b0aa";
  s.name = "web";
  s.network_name = "cluster";
  s.network_id = "local-only";
  s.vip = *IpAddr::Parse("10.96.0.7");
  s.selector = {{"app", "web"}};
  s.ports = {{80, 8080, Protocol::kTcp}, {53, 53, Protocol::kUdp}};
  s.round_robin = true;
  s.publish = {{30080, 80, Protocol::kTcp}};
  s.created = 1700000000;
  auto back = ParseService(ServiceToJson(s));
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(back->id, s.id);
  EXPECT_EQ(back->name, s.name);
  EXPECT_EQ(back->network_name, "cluster");
  EXPECT_TRUE(back->network_id.empty());  // each node's own
  EXPECT_EQ(back->vip, s.vip);
  EXPECT_EQ(back->selector, s.selector);
  EXPECT_EQ(back->ports, s.ports);
  EXPECT_TRUE(back->round_robin);
  EXPECT_EQ(back->publish, s.publish);
  EXPECT_EQ(back->created, s.created);
  EXPECT_EQ(ServiceKey("web"), "services/web");
  EXPECT_EQ(VipKey(s.vip), "vips/10.96.0.7");
}

TEST(ClusterServices, BadRecordsAreRefused) {
  for (const char* bad : {"", "[]", "{}", R"({"id":"x","name":"w"})",
                          R"({"id":"x","name":"w","vip":"10.96.0.1","ports":[]})"}) {
    EXPECT_FALSE(ParseService(bad).ok()) << bad;
  }
}

Service Svc(const std::string& id, const std::string& name, const char* vip) {
  Service s;
  s.id = id;
  s.name = name;
  s.network_name = "cluster";
  s.vip = *IpAddr::Parse(vip);
  s.selector = {{"app", name}};
  s.ports = {{80, 80, Protocol::kTcp}};
  return s;
}

class ClusterServicesEtcdTest : public etcd::testing_util::SharedEtcdTest {};

TEST_F(ClusterServicesEtcdTest, NameAndVipAreTheClustersOnce) {
  auto client = Open();
  ASSERT_NE(client, nullptr);
  Service web = Svc("id1", "web", "10.96.0.1");
  auto put = PutService(*client, web);
  ASSERT_TRUE(put.ok());
  EXPECT_GT(*put, 0);  // the revision berthd waits for before it syncs (ServiceHook)
  // The name again (another node's create), with another VIP: kExists, nothing written.
  auto again = PutService(*client, Svc("id2", "web", "10.96.0.2"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), Code::kExists);
  EXPECT_TRUE(client->Get(VipKey(*IpAddr::Parse("10.96.0.2")))->kvs.empty());
  // The VIP again under another name: kInUse, naming the holder.
  auto vip = PutService(*client, Svc("id3", "db", "10.96.0.1"));
  ASSERT_FALSE(vip.ok());
  EXPECT_EQ(vip.error().code(), Code::kInUse);
  EXPECT_NE(vip.error().message().find("web"), std::string::npos) << vip.error().message();
  EXPECT_TRUE(client->Get(ServiceKey("db"))->kvs.empty());
  // Removing another service of that name (a stale copy) leaves the current one alone.
  auto stale = DeleteService(*client, Svc("old", "web", "10.96.0.1"));
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(*stale, 0);
  EXPECT_EQ(client->Get(ServiceKey("web"))->kvs.size(), 1u);
  auto removed = DeleteService(*client, web);
  ASSERT_TRUE(removed.ok());
  EXPECT_GT(*removed, *put);
  EXPECT_TRUE(client->GetPrefix("")->kvs.empty());
  EXPECT_TRUE(DeleteService(*client, web).ok());  // absent is fine
}

}  // namespace
}  // namespace berth::cluster
