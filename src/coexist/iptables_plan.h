// The pure half of berth's iptables coexistence: given what the filter table holds (read by
// the nft or the legacy backend), what to add or remove. Unit-tested without a kernel.
#pragma once

#include <string>
#include <vector>

namespace berth::coexist {

/// What one filter table (iptables-nft's `ip filter` or the legacy x_tables one) holds.
struct IptablesState {
  bool table = false;                 // the table and its FORWARD chain exist
  bool forward_drops = false;         // FORWARD's policy is DROP (Docker's with ip_forward off)
  int forward_rules = 0;              // rules in FORWARD: another manager filters there
  bool docker_user = false;           // Docker's DOCKER-USER chain exists
  bool docker_user_used = false;      // FORWARD jumps to DOCKER-USER (Docker's first rule)
  bool chain = false;                 // BERTH-FORWARD exists
  std::vector<std::string> jumps_in;  // chains holding a jump to BERTH-FORWARD
  std::vector<std::string> rules;     // BERTH-FORWARD's rules, as RuleKey()s, in order
};

/// One rule of BERTH-FORWARD: "-i BRIDGE" or "-o BRIDGE" (-j ACCEPT).
std::string RuleKey(char direction, const std::string& bridge);

struct IptablesPlan {
  bool needed = false;  // something of berth's is (or stays) in the table
  bool create_chain = false;
  bool rewrite_rules = false;      // flush BERTH-FORWARD, then append `rules`
  std::vector<std::string> rules;  // RuleKey()s
  std::string add_jump_in;         // chain to insert the jump atop; empty: none
  bool remove_all = false;         // delete jumps and BERTH-FORWARD
  bool changes() const {
    return create_chain || rewrite_rules || !add_jump_in.empty() || remove_all;
  }
};

/// Berth steps in where FORWARD drops, holds rules (a manager such as Docker filters there and
/// may drop or set DROP on its next start) or Docker's chain is there, so the end state is the
/// same whichever started first; once in, it stays until its last bridge goes.
IptablesPlan PlanIptables(const IptablesState& s, const std::vector<std::string>& bridges);

/// "FORWARD policy DROP; DOCKER-USER present; ..." for `berth info`.
std::string DescribeState(const IptablesState& s);
/// What `plan` does, in words.
std::string DescribePlan(const IptablesState& s, const IptablesPlan& plan, bool applied);

}  // namespace berth::coexist
