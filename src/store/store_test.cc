#include "store/store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "core/ids.h"
#include "tests/support/models.h"

namespace berth::store {
namespace {

// A state directory of its own, removed with all SQLite put in it, even when a test fails
// (forked children leave with _exit and never run this).
class TempState {
 public:
  TempState() {
    char tmpl[] = "/tmp/berth-store-test-XXXXXX";
    if (::mkdtemp(tmpl)) dir_ = tmpl;
  }
  ~TempState() {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  bool ok() const { return !dir_.empty(); }
  std::string db() const { return dir_ + "/berth.db"; }

 private:
  std::string dir_;
};

TEST(Store, FreshStoreHasTheDefaultNetwork) {
  auto store = Store::Open(":memory:");
  ASSERT_TRUE(store.ok()) << store.error().message();
  auto nets = (*store)->ListNetworks();
  ASSERT_TRUE(nets.ok());
  ASSERT_EQ(nets->size(), 1u);
  const Network& d = (*nets)[0];
  EXPECT_EQ(d.name, "bridge");
  EXPECT_EQ(d.bridge, "berth0");
  EXPECT_EQ(d.subnet.ToString(), "172.17.0.0/16");
  EXPECT_EQ(d.gateway.ToString(), "172.17.0.1");
  EXPECT_TRUE(d.is_default);
  EXPECT_EQ(d.id.size(), 64u);
}

TEST(Store, NetworkRoundTripAndLookupByIdPrefix) {
  auto store = std::move(*Store::Open(":memory:"));
  Network n = MakeNetwork("web", "172.18.0.0/16", {{"icc", "false"}});
  n.ip_range = *Cidr::ParseNetwork("172.18.5.0/24");
  ASSERT_TRUE(store->InsertNetwork(n).ok());
  auto got = store->FindNetwork(n.id.substr(0, 6));
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->name, "web");
  EXPECT_EQ((*got)->ip_range->ToString(), "172.18.5.0/24");
  EXPECT_FALSE((*got)->icc());
  EXPECT_TRUE((*got)->masquerade());
  auto missing = store->FindNetwork("nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  // Same name twice is refused by the schema, whatever the caller checked.
  Network dup = MakeNetwork("web", "172.19.0.0/16");
  auto st = store->InsertNetwork(dup);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kExists);
}

TEST(Store, ExactLookupsNeverMatchAnIdPrefixOrTheOtherKey) {
  auto store = std::move(*Store::Open(":memory:"));
  Network n = MakeNetwork("web", "172.18.0.0/16");
  ASSERT_TRUE(store->InsertNetwork(n).ok());
  auto by_prefix = store->GetNetworkByName(n.id.substr(0, 6));
  ASSERT_TRUE(by_prefix.ok());
  EXPECT_FALSE(by_prefix->has_value());
  EXPECT_EQ((*store->GetNetworkByName("web"))->id, n.id);

  // Runtime-chosen ids: "a" must not find "ab", nor a container *named* "a".
  Container named_a;
  named_a.id = "ab";
  named_a.name = "a";
  named_a.mode = "none";
  ASSERT_TRUE(store->InsertContainer(named_a).ok());
  Container other = named_a;
  other.id = "ac";
  other.name = "other";
  ASSERT_TRUE(store->InsertContainer(other).ok());
  auto c = store->GetContainer("a");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_FALSE(c->has_value());
  EXPECT_EQ((*store->GetContainer("ab"))->name, "a");
  EXPECT_EQ((*store->GetContainerByName("a"))->id, "ab");
  EXPECT_FALSE(store->GetContainerByName("ab")->has_value());
}

TEST(Store, RemoteEndpointsAreReplacedAndGoWithTheirNetwork) {
  auto store = std::move(*Store::Open(":memory:"));
  Network n = MakeNetwork("cluster", "10.244.1.0/24");
  ASSERT_TRUE(store->InsertNetwork(n).ok());
  RemoteEndpoint a{"", "h2", "web-h2", *IpAddr::Parse("10.244.2.2"), {{"app", "web"}}};
  RemoteEndpoint b{"", "h3", "web-h3", *IpAddr::Parse("10.244.3.2"), {}};
  auto changed = store->ReplaceRemoteEndpoints(n.id, {b, a});
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(*changed);
  auto got = store->RemoteEndpointsOfNetwork(n.id);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].node, "h2");
  EXPECT_EQ((*got)[0].labels.at("app"), "web");
  EXPECT_EQ((*got)[1].name, "web-h3");
  // The same again writes nothing (berthd must not see a store change).
  EXPECT_FALSE(*store->ReplaceRemoteEndpoints(n.id, {a, b}));
  EXPECT_TRUE(*store->ReplaceRemoteEndpoints(n.id, {a}));
  EXPECT_EQ(store->RemoteEndpointsOfNetwork(n.id)->size(), 1u);
  ASSERT_TRUE(store->DeleteNetwork(n.id).ok());
  EXPECT_TRUE(store->RemoteEndpointsOfNetwork(n.id)->empty());
}

TEST(Store, EndpointsAreUniquePerNetworkAddress) {
  auto store = std::move(*Store::Open(":memory:"));
  Network n = MakeNetwork("web", "172.18.0.0/16");
  ASSERT_TRUE(store->InsertNetwork(n).ok());
  Container c;
  c.id = NewId();
  c.name = "c1";
  c.command = {"sleep", "1"};
  ASSERT_TRUE(store->InsertContainer(c).ok());
  Container c2 = c;
  c2.id = NewId();
  c2.name = "c2";
  ASSERT_TRUE(store->InsertContainer(c2).ok());

  Endpoint e;
  e.container_id = c.id;
  e.network_id = n.id;
  e.ifname = "eth0";
  e.ip = *IpAddr::Parse("172.18.0.2");
  e.prefix_len = 16;
  e.host_veth = HostVethName(c.id, "eth0");
  e.aliases = {"web", "www"};
  ASSERT_TRUE(store->InsertEndpoint(e).ok());
  EXPECT_TRUE(*store->IpInUse(n.id, e.ip));
  EXPECT_FALSE(*store->IpInUse(n.id, *IpAddr::Parse("172.18.0.3")));

  Endpoint clash = e;
  clash.container_id = c2.id;
  clash.host_veth = HostVethName(c2.id, "eth0");
  EXPECT_FALSE(store->InsertEndpoint(clash).ok());

  auto eps = store->EndpointsOfNetwork(n.id);
  ASSERT_TRUE(eps.ok());
  ASSERT_EQ(eps->size(), 1u);
  EXPECT_EQ((*eps)[0].network_name, "web");
  EXPECT_EQ((*eps)[0].aliases, (std::vector<std::string>{"web", "www"}));
  ASSERT_TRUE(store->DeleteEndpoint(c.id, n.id).ok());
  EXPECT_FALSE(*store->IpInUse(n.id, e.ip));
}

TEST(Store, NamesAreLookedUpApartFromIdPrefixes) {
  auto store = std::move(*Store::Open(":memory:"));
  // Two containers whose ids share a first character, as hex ids soon do.
  Container c1, c2;
  c1.id = "a1" + NewId().substr(2);
  c1.name = "first";
  c2.id = "a2" + NewId().substr(2);
  c2.name = "second";
  ASSERT_TRUE(store->InsertContainer(c1).ok());
  ASSERT_TRUE(store->InsertContainer(c2).ok());
  // As a reference, "a" is an ambiguous id prefix ...
  auto ref = store->FindContainer("a");
  ASSERT_FALSE(ref.ok());
  EXPECT_NE(ref.error().message().find("ambiguous"), std::string::npos);
  EXPECT_EQ((*store->FindContainer("a1"))->name, "first");
  // ... but as a name it is simply free, and once taken it wins over id prefixes.
  auto by_name = store->GetContainerByName("a");
  ASSERT_TRUE(by_name.ok()) << by_name.error().message();
  EXPECT_FALSE(by_name->has_value());
  EXPECT_FALSE(store->GetContainerByName("a1")->has_value());
  Container named_a;
  named_a.id = NewId();
  named_a.name = "a";
  ASSERT_TRUE(store->InsertContainer(named_a).ok());
  EXPECT_EQ((*store->FindContainer("a"))->id, named_a.id);
  EXPECT_EQ((*store->GetContainerByName("a"))->id, named_a.id);

  Network n1 = MakeNetwork("web", "172.18.0.0/16"), n2 = MakeNetwork("db", "172.19.0.0/16");
  n1.id = "b1" + n1.id.substr(2);
  n2.id = "b2" + n2.id.substr(2);
  ASSERT_TRUE(store->InsertNetwork(n1).ok());
  ASSERT_TRUE(store->InsertNetwork(n2).ok());
  EXPECT_FALSE(store->FindNetwork("b").ok());
  auto net = store->GetNetworkByName("b");
  ASSERT_TRUE(net.ok());
  EXPECT_FALSE(net->has_value());
  EXPECT_EQ((*store->GetNetworkByName("web"))->id, n1.id);
}

TEST(Store, AnExitRecordedFirstIsNotOverwrittenByTheStart) {
  auto store = std::move(*Store::Open(":memory:"));
  Container c;
  c.id = NewId();
  c.name = "c1";
  c.command = {"true"};
  ASSERT_TRUE(store->InsertContainer(c).ok());
  // The usual order: started, then exited.
  EXPECT_TRUE(*store->MarkRunning(c.id, 42, 1000));
  auto got = **store->FindContainer("c1");
  EXPECT_EQ(got.state, ContainerState::kRunning);
  EXPECT_EQ(got.pid, 42);
  EXPECT_EQ(got.start_time, 1000u);
  ASSERT_TRUE(store->MarkExited(c.id, 7).ok());
  got = **store->FindContainer("c1");
  EXPECT_EQ(got.state, ContainerState::kExited);
  EXPECT_EQ(got.exit_code, 7);
  EXPECT_EQ(got.pid, 42);
  // A command that ends at once: the monitor records the exit before `run -d` records the
  // start; the start must not turn it back into "running" with exit code 0.
  Container c2 = c;
  c2.id = NewId();
  c2.name = "c2";
  ASSERT_TRUE(store->InsertContainer(c2).ok());
  ASSERT_TRUE(store->MarkExited(c2.id, 3).ok());
  EXPECT_FALSE(*store->MarkRunning(c2.id, 43, 1001));
  got = **store->FindContainer("c2");
  EXPECT_EQ(got.state, ContainerState::kExited);
  EXPECT_EQ(got.exit_code, 3);
  // A container removed meanwhile: nothing to update, no error.
  EXPECT_TRUE(store->MarkExited(NewId(), 1).ok());
  EXPECT_FALSE(*store->MarkRunning(NewId(), 44, 1002));
}

TEST(Store, RollbackOnDestruction) {
  auto store = std::move(*Store::Open(":memory:"));
  {
    auto tx = store->Write();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(store->InsertNetwork(MakeNetwork("gone", "172.20.0.0/16")).ok());
  }
  EXPECT_FALSE(store->FindNetwork("gone")->has_value());
  {
    auto tx = store->Write();
    ASSERT_TRUE(store->InsertNetwork(MakeNetwork("kept", "172.20.0.0/16")).ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  EXPECT_TRUE(store->FindNetwork("kept")->has_value());
}

TEST(Store, ProcessesOpeningANewDatabaseAtOnceAllSucceed) {
  // A new database is built under a private name and linked into place (Store::Create), so
  // parallel `berth run` on a new state root neither see a half-made file nor meet SQLite's
  // lock upgrade of switching to WAL (which returned "database is locked" before).
  TempState tmp;
  ASSERT_TRUE(tmp.ok());
  std::string path = tmp.db();
  constexpr int kProcs = 8;
  pid_t pids[kProcs];
  for (int i = 0; i < kProcs; ++i) {
    pids[i] = ::fork();
    if (pids[i] == 0) {
      auto s = Store::Open(path);
      if (!s.ok()) ::_exit(2);
      auto tx = (*s)->Write();
      if (!tx.ok()) ::_exit(3);
      std::string name = "p" + std::to_string(i);
      if (!(*s)->InsertNetwork(MakeNetwork(name, "10." + std::to_string(i) + ".0.0/16")).ok()) {
        ::_exit(4);
      }
      ::_exit(tx->Commit().ok() ? 0 : 5);
    }
  }
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << WEXITSTATUS(status);
  }
  auto store = Store::Open(path);
  ASSERT_TRUE(store.ok()) << store.error().message();
  EXPECT_EQ((*store)->ListNetworks()->size(), 1u + kProcs);
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
    EXPECT_EQ(e.path().filename().string().find(".new-"), std::string::npos) << e.path();
  }
}

// Writes `data` to `path` (replacing it).
void Put(const std::string& path, const std::string& data) {
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fwrite(data.data(), 1, data.size(), f);
  std::fclose(f);
}

std::string Slurp(const std::string& path) {
  std::string d(1 << 20, '\0');
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return "";
  d.resize(std::fread(d.data(), 1, d.size(), f));
  std::fclose(f);
  return d;
}

void ExpectDamaged(const std::string& path, const std::string& reason) {
  auto start = std::chrono::steady_clock::now();
  auto s = Store::Open(path);
  ASSERT_FALSE(s.ok()) << reason;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2)) << "at once";
  const std::string& m = s.error().message();
  EXPECT_EQ(m.rfind("state store damaged: " + path + ": ", 0), 0u) << m;
  EXPECT_NE(m.find(reason), std::string::npos) << m;
  EXPECT_NE(m.find("berth system reconcile --rebuild-state"), std::string::npos) << m;
}

TEST(Store, ADamagedDatabaseIsSaidAtOnce) {
  TempState tmp;
  ASSERT_TRUE(tmp.ok());
  std::string path = tmp.db();
  {
    auto s = Store::Open(path);
    ASSERT_TRUE(s.ok());
    auto tx = (*s)->Write();
    ASSERT_TRUE((*s)->InsertNetwork(MakeNetwork("kept", "10.1.0.0/16")).ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  const std::string good = Slurp(path);
  // Only the WAL deleted (its index stays): the changes in it would be lost silently.
  ASSERT_EQ(::unlink((path + "-wal").c_str()), 0);
  ExpectDamaged(path, "write-ahead log " + path + "-wal was deleted");
  // Truncated to 0 bytes (with the WAL and index of before around or not).
  Put(path + "-wal", "");
  Put(path, "");
  ExpectDamaged(path, "the database file is empty (0 bytes)");
  // Something else entirely.
  Put(path, "not a database at all, just text that is longer than a header of 100 bytes ....."
            "..............................................");
  ExpectDamaged(path, "not an SQLite database");
  Put(path, good.substr(0, 50));
  ExpectDamaged(path, "not an SQLite database (50 bytes)");
  // The database gone, its WAL left.
  ASSERT_EQ(::unlink(path.c_str()), 0);
  ExpectDamaged(path, "the database file is missing but its write-ahead log");
  // The database file and its whole log deleted (the sqlite3 shell does so after a clean
  // checkpoint): a first run for all berth can tell, since nothing of the root is left.
  ::unlink((path + "-wal").c_str());
  ::unlink((path + "-shm").c_str());
  Put(path, good);
  auto s = Store::Open(path);
  ASSERT_TRUE(s.ok()) << s.error().message();
}

TEST(Store, AMissingDatabaseWhileTheRootHoldsContainersIsDamage) {
  TempState tmp;
  ASSERT_TRUE(tmp.ok());
  std::string path = tmp.db();
  std::string dir = std::filesystem::path(path).parent_path();
  std::filesystem::create_directories(dir + "/containers/0123abcd");
  ExpectDamaged(path, "the database is missing but berth's objects exist (1 container directory");
  EXPECT_FALSE(std::filesystem::exists(path)) << "nothing created";
  std::filesystem::remove_all(dir + "/containers");
  EXPECT_TRUE(Store::Open(path).ok());
}

TEST(Store, ConcurrentProcessesNeverShareAName) {
  TempState tmp;
  ASSERT_TRUE(tmp.ok());
  std::string path = tmp.db();
  ASSERT_TRUE(Store::Open(path).ok());
  constexpr int kProcs = 8;
  pid_t pids[kProcs];
  for (int i = 0; i < kProcs; ++i) {
    pids[i] = ::fork();
    if (pids[i] == 0) {
      auto s = Store::Open(path);
      if (!s.ok()) ::_exit(2);
      auto tx = (*s)->Write();
      if (!tx.ok()) ::_exit(3);
      auto found = (*s)->FindNetwork("race");
      if (!found.ok()) ::_exit(4);
      if (found->has_value()) ::_exit(1);  // lost the race, saw the winner's row
      if (!(*s)->InsertNetwork(MakeNetwork("race", "172.21.0.0/16")).ok()) ::_exit(5);
      ::_exit(tx->Commit().ok() ? 0 : 6);
    }
  }
  int winners = 0, losers = 0;
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 0) ++winners;
    if (WEXITSTATUS(status) == 1) ++losers;
  }
  EXPECT_EQ(winners, 1);
  EXPECT_EQ(losers, kProcs - 1);
}

TEST(Store, ShortLivedWritersKeepTheWalSmallAndLoseNothing) {
  // Each berth command is one process: none checkpoints at close, so the WAL must still be
  // emptied as it grows, or every opener would replay all of it (and it would grow forever).
  TempState tmp;
  ASSERT_TRUE(tmp.ok());
  std::string path = tmp.db();
  constexpr int kWriters = 150;
  off_t largest = 0;
  for (int i = 0; i < kWriters; ++i) {
    auto s = Store::Open(path);
    ASSERT_TRUE(s.ok()) << s.error().message();
    auto tx = (*s)->Write();
    ASSERT_TRUE(tx.ok());
    std::string name = "n" + std::to_string(i);
    ASSERT_TRUE((*s)->InsertNetwork(MakeNetwork(name, "10." + std::to_string(i) + ".0.0/16")).ok());
    ASSERT_TRUE(tx->Commit().ok());
    s->reset();  // closed like a process exiting
    struct stat st{};
    if (::stat((path + "-wal").c_str(), &st) == 0) largest = std::max(largest, st.st_size);
  }
  EXPECT_GT(largest, 0) << "the WAL outlives the process";
  EXPECT_LT(largest, 128 * 4200) << "WAL emptied once it holds 64 pages";
  auto s = Store::Open(path);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->ListNetworks()->size(), static_cast<size_t>(kWriters + 1));
}

TEST(Store, ALongReaderDoesNotStallWriters) {
  // The WAL checkpoint of a commit waits for readers: a reader that stays (here another
  // connection holding its snapshot for the whole test) must not hold up commits for the busy
  // timeout (60 s each); the WAL grows meanwhile and is emptied once the reader is gone.
  TempState tmp;
  ASSERT_TRUE(tmp.ok());
  std::string path = tmp.db();
  ASSERT_TRUE(Store::Open(path).ok());
  auto reader = Db::Open(path);
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE((*reader)->Exec("BEGIN; SELECT count(*) FROM networks;").ok());
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {  // ~16 pages each: the 64-page threshold is crossed early
    auto s = Store::Open(path);
    ASSERT_TRUE(s.ok()) << s.error().message();
    auto tx = (*s)->Write();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*s)->InsertNetwork(MakeNetwork("r" + std::to_string(i),
                                                "10." + std::to_string(i) + ".0.0/16")).ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  ASSERT_TRUE((*reader)->Exec("COMMIT").ok());
  reader->reset();
  {
    auto s = Store::Open(path);
    auto tx = (*s)->Write();
    ASSERT_TRUE((*s)->InsertNetwork(MakeNetwork("after", "10.99.0.0/16")).ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  struct stat st{};
  ASSERT_EQ(::stat((path + "-wal").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 0) << "emptied by the first commit after the reader left";
}

}  // namespace
}  // namespace berth::store
