#include "engine/intents.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "sys/proc.h"

namespace berth::engine {
namespace {

class IntentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-intents-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { (void)sys::RemoveTree(dir_); }
  std::string dir_;
};

TEST_F(IntentsTest, RoundTrip) {
  Intent in{"create-container", "c1", "n1", {"veth0123", "br-x"}, "/r/netns/c1", 0, 0};
  auto back = DecodeIntent(EncodeIntent(in));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->kind, "create-container");
  EXPECT_EQ(back->links, in.links);
  EXPECT_EQ(back->netns_path, in.netns_path);
  EXPECT_FALSE(DecodeIntent("{").ok());
}

TEST_F(IntentsTest, LiveIntentsAreNoOrphansAndForgetRemovesThem) {
  Intents intents(dir_ + "/intents");  // created on first use
  auto path = intents.Record({"connect", "c1", "n1", {"veth1"}, "", 0, 0});
  ASSERT_TRUE(path.ok()) << path.error().message();
  auto all = intents.All();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].intent.pid, ::getpid());
  EXPECT_EQ((*all)[0].intent.kind, "connect");
  auto orphans = intents.Orphans();
  ASSERT_TRUE(orphans.ok());
  EXPECT_TRUE(orphans->empty());  // this process is alive
  ASSERT_TRUE(Intents::Forget(*path).ok());
  EXPECT_TRUE(intents.All()->empty());
  EXPECT_TRUE(Intents::Forget(*path).ok());  // gone already is fine
}

TEST_F(IntentsTest, ADeadWritersIntentIsAnOrphan) {
  Intents intents(dir_);
  // A child writes an intent and dies without removing it (a kill -9 mid-operation).
  pid_t child = ::fork();
  if (child == 0) {
    auto p = intents.Record({"create-network", "", "n9", {"br-n9"}, "", 0, 0});
    ::_exit(p.ok() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  auto orphans = intents.Orphans();
  ASSERT_TRUE(orphans.ok());
  ASSERT_EQ(orphans->size(), 1u);
  EXPECT_EQ((*orphans)[0].intent.kind, "create-network");
  EXPECT_EQ((*orphans)[0].intent.links, std::vector<std::string>{"br-n9"});
  EXPECT_EQ((*orphans)[0].intent.pid, child);
}

TEST_F(IntentsTest, AHalfWrittenIntentIsAnOrphanWithoutKind) {
  Intents intents(dir_);
  // What a kill during the write leaves: the temporary file, named after a dead writer.
  ASSERT_TRUE(sys::WriteFileInPlace(dir_ + "/999999999-1-0.json.tmp999999999", "{\"ki").ok());
  auto orphans = intents.Orphans();
  ASSERT_TRUE(orphans.ok());
  ASSERT_EQ(orphans->size(), 1u);
  EXPECT_TRUE((*orphans)[0].intent.kind.empty());
}

}  // namespace
}  // namespace berth::engine
