#include "diagnose/events.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace berth::diagnose {
namespace {

class NodeEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/eventsXXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    ::unlink(EventsPath(root_).c_str());
    ::rmdir(root_.c_str());
  }
  std::vector<std::string> Seen() {
    std::vector<std::string> out;
    auto evs = ReadEvents(root_, 0);
    for (const Event& e : *evs) out.push_back(e.type + " " + e.action + " " + e.name);
    return out;
  }
  std::string root_;
};

TEST_F(NodeEventsTest, JoinLostReadyRemove) {
  EventRecorder r(root_);
  ASSERT_TRUE(r.ObserveNodes({{"h1", true}, {"h2", true}}).ok());  // learns only
  ASSERT_TRUE(r.ObserveNodes({{"h1", true}, {"h2", true}, {"h3", std::nullopt}}).ok());
  ASSERT_TRUE(r.ObserveNodes({{"h1", true}, {"h2", false}, {"h3", true}}).ok());
  // etcd away: nobody is lost for it, and what was known stays known.
  ASSERT_TRUE(r.ObserveNodes({{"h1", std::nullopt}, {"h2", std::nullopt}, {"h3", std::nullopt}}).ok());
  ASSERT_TRUE(r.ObserveNodes({{"h1", true}, {"h2", true}, {"h3", true}}).ok());
  ASSERT_TRUE(r.ObserveNodes({{"h1", true}, {"h3", true}}).ok());
  r.ForgetNodes();  // this host left: the others are not removed for it
  ASSERT_TRUE(r.ObserveNodes({}).ok());
  EXPECT_EQ(Seen(), (std::vector<std::string>{"node join h3", "node lost h2", "node ready h2",
                                              "node remove h2"}));
}

}  // namespace
}  // namespace berth::diagnose
