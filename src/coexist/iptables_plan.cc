#include "coexist/iptables_plan.h"

#include <algorithm>

#include "coexist/coexist.h"

namespace berth::coexist {

std::string RuleKey(char direction, const std::string& bridge) {
  return std::string("-") + direction + " " + bridge;
}

IptablesPlan PlanIptables(const IptablesState& s, const std::vector<std::string>& bridges) {
  IptablesPlan p;
  if (!s.table) return p;
  bool ours = s.chain || !s.jumps_in.empty();
  if (bridges.empty()) {
    p.remove_all = ours;
    return p;
  }
  p.needed = ours || s.forward_drops || s.forward_rules > 0 || s.docker_user;
  if (!p.needed) return p;
  std::vector<std::string> sorted = bridges;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  for (const std::string& b : sorted) {
    p.rules.push_back(RuleKey('i', b));
    p.rules.push_back(RuleKey('o', b));
  }
  p.create_chain = !s.chain;
  p.rewrite_rules = p.rules != s.rules;
  // A jump already in effect stays where it is (Docker inserts its own above it on a restart,
  // which is harmless); a new one goes where Docker tells other software to put rules, when
  // FORWARD consults that chain.
  auto has = [&](const char* c) {
    return std::find(s.jumps_in.begin(), s.jumps_in.end(), c) != s.jumps_in.end();
  };
  bool in_effect = has(kForward) || (has(kDockerUser) && s.docker_user_used);
  if (!in_effect) p.add_jump_in = s.docker_user_used ? kDockerUser : kForward;
  return p;
}

std::string DescribeState(const IptablesState& s) {
  if (!s.table) return "no filter table";
  std::string out = std::string("FORWARD policy ") + (s.forward_drops ? "DROP" : "ACCEPT");
  if (s.forward_rules) out += "; " + std::to_string(s.forward_rules) + " rules in FORWARD";
  if (s.docker_user) out += "; DOCKER-USER present";
  if (s.chain) {
    out += std::string("; ") + kChain + " has " + std::to_string(s.rules.size()) + " rules";
  }
  for (const std::string& c : s.jumps_in) out += std::string("; jump to ") + kChain + " in " + c;
  return out;
}

std::string DescribePlan(const IptablesState& s, const IptablesPlan& p, bool applied) {
  if (!s.table) return "none needed";
  if (p.remove_all)
    return applied ? "removed berth's chain and jump" : "would remove berth's chain";
  if (!p.needed) return "none needed (FORWARD accepts, no rules)";
  std::string where =
      p.add_jump_in.empty() ? (s.jumps_in.empty() ? "" : s.jumps_in.front()) : p.add_jump_in;
  std::string what = std::string(kChain) + " accepts " + std::to_string(p.rules.size() / 2) +
                     " bridge(s), jumped to from " + where;
  if (!p.changes()) return what + " (in place)";
  return (applied ? "" : "would: ") + what;
}

}  // namespace berth::coexist
