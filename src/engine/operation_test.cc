// Every mutating engine verb against the fake kernel, with a failure injected at each of its
// steps in turn (every LinkOps and firewall call, then the commit): the verb must report the
// error and leave the store, the files and the kernel as they were (verbs that only delete
// cannot put back what they deleted: they leave the store as it was), and running it again
// without the failure must end exactly where a clean run ends. Run under ASan+UBSan in CI, this
// is what catches an undo step that outlives what it points to.
#include "engine/operation.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "engine/engine.h"
#include "tests/support/engine_world.h"

namespace berth::engine {
namespace {

enum class Undo {
  kAll,        // a failure leaves everything as it was
  kStoreOnly,  // deletions: the store is as it was, the kernel may have lost what was deleted
  kNone,       // best effort (CNI GC): what succeeded before the failure is kept
};

struct Case {
  std::string name;
  bool needs_root;  // makes berth's own containers: real network namespaces
  std::function<void(EngineWorld&)> setup;
  std::function<Status(EngineWorld&)> verb;
  Undo undo = Undo::kAll;
  bool commits = true;  // CheckExternal only reads
};

void Expect(const Status& st) { ASSERT_TRUE(st.ok()) << st.error().message(); }
template <typename T>
void Expect(const Result<T>& r) {
  ASSERT_TRUE(r.ok()) << r.error().message();
}

template <typename T>
Status StatusOf(const Result<T>& r) {
  if (r.ok()) return Ok();
  return r.error();
}

NetworkCreateRequest Net(const std::string& name, const std::string& subnet) {
  NetworkCreateRequest n;
  n.name = name;
  n.subnet = subnet;
  return n;
}

ContainerCreateRequest Run(const std::string& name, const std::string& network,
                           std::vector<PortRequest> ports = {}) {
  ContainerCreateRequest r;
  r.name = name;
  r.network = network;
  r.command = {"true"};
  r.ports = std::move(ports);
  return r;
}

PortRequest Port(uint16_t host, uint16_t container) {
  PortRequest p;
  p.host_ip = *IpAddr::Parse("0.0.0.0");
  p.host_port = host;
  p.container_port = container;
  return p;
}

// Runtime container ids (long: snapshots replace ids by names).
constexpr char kPodA[] = "5eed000000000000000000000000000000000000000000000000000000000a0a";
constexpr char kPodB[] = "5eed000000000000000000000000000000000000000000000000000000000b0b";

ExternalAttachRequest Attach(const EngineWorld& w, const std::string& id) {
  ExternalAttachRequest r;
  r.network = "cninet";
  r.key = {id, "eth0"};
  r.netns_path = w.cni_netns();
  r.name = "pod-" + id.substr(id.size() - 1);
  r.aliases = {"web"};
  PortMapping p;
  p.host_ip = *IpAddr::Parse("0.0.0.0");
  p.host_port = 9000;
  p.container_port = 80;
  if (id == kPodB) p.host_port = 9001;
  r.ports = {p};
  // One namespace holds both pods of cni_gc: only the first adds the route.
  if (id != kPodB) r.routes = {ExternalRoute{*Cidr::ParseNetwork("203.0.113.0/24"), std::nullopt}};
  return r;
}

void AttachCni(EngineWorld& w, const std::string& id) {
  ExternalAttachRequest r = Attach(w, id);
  if (id == kPodB) r.key.ifname = "eth1";  // one namespace, one interface per attachment
  Expect(w.engine().AttachExternal(r, Net("cninet", "10.90.0.0/24")));
}

std::vector<Case> Cases() {
  auto none = [](EngineWorld&) {};
  auto n1 = [](EngineWorld& w) { Expect(w.engine().CreateNetwork(Net("n1", "10.80.1.0/24"))); };
  auto n1_n2_c1 = [](EngineWorld& w) {
    Expect(w.engine().CreateNetwork(Net("n1", "10.80.1.0/24")));
    Expect(w.engine().CreateNetwork(Net("n2", "10.80.2.0/24")));
    Expect(w.engine().CreateContainer(Run("c1", "n1", {Port(8080, 80)})));
  };
  return {
      {"network_create", false, none,
       [](EngineWorld& w) { return StatusOf(w.engine().CreateNetwork(Net("n1", "10.80.1.0/24"))); }},
      {"network_rm", false, n1, [](EngineWorld& w) { return w.engine().RemoveNetwork("n1"); },
       Undo::kStoreOnly},
      {"run_default_bridge", true, none,
       [](EngineWorld& w) { return StatusOf(w.engine().CreateContainer(Run("c1", "bridge"))); }},
      {"run_user_network_with_ports", true, n1,
       [](EngineWorld& w) {
         ContainerCreateRequest r = Run("c1", "n1", {Port(8080, 80), Port(8443, 443)});
         r.aliases = {"web"};
         return StatusOf(w.engine().CreateContainer(r));
       }},
      {"run_none", true, none,
       [](EngineWorld& w) { return StatusOf(w.engine().CreateContainer(Run("c1", "none"))); }},
      {"run_container_mode", true,
       [](EngineWorld& w) {
         Expect(w.engine().CreateContainer(Run("c0", "bridge")));
         w.PretendRunning("c0");
       },
       [](EngineWorld& w) {
         return StatusOf(w.engine().CreateContainer(Run("c1", "container:c0")));
       }},
      {"rm", true,
       [n1_n2_c1](EngineWorld& w) {
         n1_n2_c1(w);
         Expect(w.engine().Connect("c1", "bridge", std::nullopt, {}));
       },
       [](EngineWorld& w) { return w.engine().RemoveContainer("c1"); }, Undo::kStoreOnly},
      {"connect", true, n1_n2_c1,
       [](EngineWorld& w) {
         return StatusOf(w.engine().Connect("c1", "n2", "10.80.2.9", {"alias1"}));
       }},
      {"disconnect", true,
       [n1_n2_c1](EngineWorld& w) {
         n1_n2_c1(w);
         Expect(w.engine().Connect("c1", "n2", std::nullopt, {}));
       },
       // n1 holds the default route: it moves to n2.
       [](EngineWorld& w) { return w.engine().Disconnect("c1", "n1"); }, Undo::kStoreOnly},
      {"release_stopped", true,
       [n1_n2_c1](EngineWorld& w) {
         n1_n2_c1(w);
         Expect(w.engine().Connect("c1", "n2", "10.80.2.9", {"alias1"}));
       },
       [](EngineWorld& w) { return w.engine().ReleaseEndpoints("c1"); }, Undo::kStoreOnly},
      {"restore_on_start", true,
       [n1_n2_c1](EngineWorld& w) {
         n1_n2_c1(w);
         Expect(w.engine().Connect("c1", "n2", "10.80.2.9", {"alias1"}));
         Expect(w.engine().ReleaseEndpoints("c1"));
       },
       [](EngineWorld& w) { return w.engine().RestoreEndpoints("c1"); }},
      {"cni_add_new_network", false, none,
       [](EngineWorld& w) {
         return StatusOf(w.engine().AttachExternal(Attach(w, kPodA), Net("cninet", "10.90.0.0/24")));
       }},
      {"cni_add_existing_network", false,
       [](EngineWorld& w) { Expect(w.engine().CreateNetwork(Net("cninet", "10.90.0.0/24"))); },
       [](EngineWorld& w) {
         return StatusOf(w.engine().AttachExternal(Attach(w, kPodA), Net("cninet", "10.90.0.0/24")));
       }},
      {"cni_del", false, [](EngineWorld& w) { AttachCni(w, kPodA); },
       [](EngineWorld& w) { return w.engine().DetachExternal("cninet", {kPodA, "eth0"}); },
       Undo::kStoreOnly},
      {"cni_check", false, [](EngineWorld& w) { AttachCni(w, kPodA); },
       [](EngineWorld& w) {
         ExternalCheckRequest r;
         r.network = "cninet";
         r.key = {kPodA, "eth0"};
         r.netns_path = w.cni_netns();
         r.routes = {ExternalRoute{*Cidr::ParseNetwork("203.0.113.0/24"), std::nullopt}};
         return w.engine().CheckExternal(r);
       },
       Undo::kAll, /*commits=*/false},
      {"cni_gc", false,
       [](EngineWorld& w) {
         AttachCni(w, kPodA);
         AttachCni(w, kPodB);
       },
       [](EngineWorld& w) {
         return StatusOf(w.engine().CollectExternal("cninet", {{kPodA, "eth0"}}));
       },
       Undo::kNone},
  };
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class OperationTest : public ::testing::TestWithParam<Case> {};

// The clean run counts the steps; then each step fails in a fresh world built the same way.
TEST_P(OperationTest, FailureAtEveryStepIsUndone) {
  const Case& c = GetParam();
  if (c.needs_root && ::geteuid() != 0) GTEST_SKIP() << "makes network namespaces: run as root";
  int steps = 0, commits = 0;
  Snapshot clean;
  {
    EngineWorld w;
    c.setup(w);
    w.kernel.Reset();
    w.commits = 0;
    Expect(c.verb(w));
    steps = w.kernel.calls;
    commits = w.commits;
    clean = w.Snap();
  }
  EXPECT_EQ(commits > 0, c.commits);
  // Steps 0..steps-1 are kernel and firewall calls; then each commit fails in turn.
  for (int i = 0; i < steps + commits; ++i) {
    EngineWorld w;
    c.setup(w);
    const Snapshot before = w.Snap();
    w.kernel.Reset(i < steps ? i : -1);
    w.commits = 0;
    w.fail_commit_at = i < steps ? -1 : i - steps;
    Status st = c.verb(w);
    const std::string step =
        i < steps ? w.kernel.log.at(i) : "commit " + std::to_string(i - steps);
    SCOPED_TRACE(c.name + ": failure at step " + std::to_string(i) + " (" + step + ")");
    EXPECT_FALSE(st.ok());
    w.kernel.Reset();
    w.fail_commit_at = -1;
    Snapshot after = w.Snap();
    if (c.undo == Undo::kAll) {
      EXPECT_EQ(before, after);
    } else if (c.undo == Undo::kStoreOnly) {
      EXPECT_EQ(before.store, after.store);
    }
    // Retried without the failure, it ends where a clean run ends.
    Status again = c.verb(w);
    EXPECT_TRUE(again.ok()) << again.error().message();
    EXPECT_EQ(clean, w.Snap());
  }
  RecordProperty("steps", steps);
  std::printf("[ steps    ] %s: %d kernel/firewall steps + %d commits\n", c.name.c_str(), steps,
              commits);
}

INSTANTIATE_TEST_SUITE_P(Verbs, OperationTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace berth::engine
