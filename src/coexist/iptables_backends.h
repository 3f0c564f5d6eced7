// The two ways iptables rules reach the kernel, each written in the table's own format so the
// `iptables` of that variant lists, saves and deletes them like its own:
//   nft variant (Debian 12's default `iptables`): table `ip filter` in nf_tables, rules built
//     with libnftnl exactly as iptables-nft 1.8 builds them (meta+cmp for -i/-o, an xt
//     "comment" match through nft_compat, counter, immediate verdict);
//   legacy variant: the x_tables `filter` table through libip4tc.
// Both read the table into an IptablesState and apply an IptablesPlan (iptables_plan.h).
#pragma once

#include "coexist/iptables_plan.h"
#include "core/error.h"

namespace berth::coexist {

/// iptables-nft: reads `ip filter` (no table: state.table false).
Result<IptablesState> ReadNft();
Status ApplyNft(const IptablesState& state, const IptablesPlan& plan);

/// iptables-legacy: present when this netns has the x_tables filter table
/// (/proc/net/ip_tables_names); reading it never loads a module.
bool LegacyPresent();
Result<IptablesState> ReadLegacy();
Status ApplyLegacy(const IptablesState& state, const IptablesPlan& plan);

}  // namespace berth::coexist
