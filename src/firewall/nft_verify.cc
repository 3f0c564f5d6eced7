#include "firewall/nft_verify.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <map>
#include <set>
#include <string_view>

namespace berth::firewall {

namespace {

// The string attribute `type` at the top level of an nf_tables message; "" when absent.
std::string_view StrAttr(const nlmsghdr* nlh, uint16_t type) {
  std::string_view value;
  ForEachAttr(nlh, [&](const nlattr* attr) {
    if (mnl_attr_get_type(attr) == type) value = AttrString(attr);
  });
  return value;
}

// The elements listed in one NEWSETELEM message, not counting interval ends (an rbtree
// interval is stored as a start and an end element).
size_t CountElements(const nlmsghdr* nlh) {
  size_t count = 0;
  ForEachAttr(nlh, [&](const nlattr* list) {
    if (mnl_attr_get_type(list) != NFTA_SET_ELEM_LIST_ELEMENTS) return;
    ForEachNested(list, [&](const nlattr* elem) {
      bool end = false;
      ForEachNested(elem, [&](const nlattr* field) {
        if (mnl_attr_get_type(field) == NFTA_SET_ELEM_FLAGS &&
            mnl_attr_get_payload_len(field) == sizeof(uint32_t)) {
          end = ntohl(mnl_attr_get_u32(field)) & NFT_SET_ELEM_INTERVAL_END;
        }
      });
      if (!end) ++count;
    });
  });
  return count;
}

}  // namespace

Result<std::vector<std::string>> MissingObjects(NfnlSocket& socket,
                                                const ExpectedTable& expected) {
  const char* table = expected.name.c_str();
  char buf[MNL_SOCKET_BUFFER_SIZE];
  auto request = [&](uint16_t type, uint16_t flags) {
    return nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, flags, socket.NextSeq());
  };
  std::vector<std::string> missing;

  nlmsghdr* nlh = request(NFT_MSG_GETTABLE, NLM_F_ACK);
  mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, table);
  Status st = socket.Query(nlh, [](const nlmsghdr*) {});
  if (!st.ok() && st.error().code() == Code::kNotFound) {
    missing.push_back("table inet " + expected.name);
    return missing;
  }
  BERTH_TRY_CTX(std::move(st), "nftables: get table");

  // Chain dumps are not filtered by table in the kernel: every inet chain comes back.
  std::set<std::string, std::less<>> chains;
  nlh = request(NFT_MSG_GETCHAIN, NLM_F_DUMP);
  BERTH_TRY_CTX(socket.Query(nlh,
                             [&](const nlmsghdr* m) {
                               if (StrAttr(m, NFTA_CHAIN_TABLE) == table) {
                                 chains.emplace(StrAttr(m, NFTA_CHAIN_NAME));
                               }
                             }),
                "nftables: list chains");

  std::map<std::string, size_t, std::less<>> rules;
  nlh = request(NFT_MSG_GETRULE, NLM_F_DUMP);
  mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, table);
  BERTH_TRY_CTX(socket.Query(nlh,
                             [&](const nlmsghdr* m) {
                               if (StrAttr(m, NFTA_RULE_TABLE) == table) {
                                 ++rules[std::string(StrAttr(m, NFTA_RULE_CHAIN))];
                               }
                             }),
                "nftables: list rules");

  for (const ExpectedChain& c : expected.chains) {
    if (!chains.contains(c.name)) {
      missing.push_back("chain " + c.name);
      continue;
    }
    auto it = rules.find(c.name);
    size_t have = it == rules.end() ? 0 : it->second;
    if (have < c.min_rules || (c.exact && have != c.min_rules)) {
      missing.push_back("chain " + c.name + ": " + std::to_string(have) + " of " +
                        std::to_string(c.min_rules) + " rules");
    }
  }

  std::set<std::string, std::less<>> sets;
  nlh = request(NFT_MSG_GETSET, NLM_F_DUMP);
  mnl_attr_put_strz(nlh, NFTA_SET_TABLE, table);
  BERTH_TRY_CTX(socket.Query(nlh,
                             [&](const nlmsghdr* m) {
                               if (StrAttr(m, NFTA_SET_TABLE) == table) {
                                 sets.emplace(StrAttr(m, NFTA_SET_NAME));
                               }
                             }),
                "nftables: list sets");

  for (const ExpectedSet& s : expected.sets) {
    if (!sets.contains(s.name)) {
      missing.push_back("set " + s.name);
      continue;
    }
    if (s.min_elements == 0 && !s.exact) continue;
    size_t have = 0;
    nlh = request(NFT_MSG_GETSETELEM, NLM_F_DUMP);
    mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
    mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, s.name.c_str());
    BERTH_TRY_CTX(socket.Query(nlh, [&](const nlmsghdr* m) { have += CountElements(m); }),
                  "nftables: list elements of " + s.name);
    if (have < s.min_elements || (s.exact && have != s.min_elements)) {
      missing.push_back("set " + s.name + ": " + std::to_string(have) + " of " +
                        std::to_string(s.min_elements) + " elements");
    }
  }
  return missing;
}

Result<std::vector<std::string>> MissingObjects(const ExpectedTable& expected) {
  BERTH_ASSIGN_OR_RETURN(NfnlSocket socket, NfnlSocket::Open());
  return MissingObjects(socket, expected);
}

}  // namespace berth::firewall
