#include "diagnose/trace.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/trace.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "diagnose/probe.h"
#include "diagnose/user_rules.h"
#include "firewall/nfnl_socket.h"
#include "firewall/nft_firewall.h"

namespace berth::diagnose {

namespace {

using nlohmann::json;

constexpr char kTraceTable[] = "berth_trace";

json Match(json left, json right) {
  return {{"match", {{"op", "=="}, {"left", std::move(left)}, {"right", std::move(right)}}}};
}

// The marking rule: packets to DST (from SRC when known) get nftrace.
json MarkRule(const char* chain, const ProbePlan& p, bool icmp) {
  json expr = json::array();
  const char* fam = p.ip.is_v4() ? "ip" : "ip6";
  expr.push_back(Match({{"payload", {{"protocol", fam}, {"field", "daddr"}}}}, p.ip.ToString()));
  if (p.src_ip && p.src_ip->is_v4() == p.ip.is_v4()) {
    expr.push_back(Match({{"payload", {{"protocol", fam}, {"field", "saddr"}}}},
                         p.src_ip->ToString()));
  }
  if (icmp) {
    expr.push_back(Match({{"meta", {{"key", "l4proto"}}}}, p.ip.is_v4() ? "icmp" : "ipv6-icmp"));
  } else if (p.port) {
    expr.push_back(Match({{"meta", {{"key", "l4proto"}}}},
                         p.protocol == Protocol::kUdp ? "udp" : "tcp"));
    expr.push_back(Match({{"payload", {{"protocol", "th"}, {"field", "dport"}}}}, *p.port));
  }
  expr.push_back({{"mangle", {{"key", {{"meta", {{"key", "nftrace"}}}}}, {"value", 1}}}});
  return {{"add", {{"rule", {{"family", "inet"}, {"table", kTraceTable}, {"chain", chain},
                             {"expr", expr}}}}}};
}

json Chain(const char* name, const char* hook) {
  return {{"add", {{"chain", {{"family", "inet"}, {"table", kTraceTable}, {"name", name},
                              {"type", "filter"}, {"hook", hook}, {"prio", -350},
                              {"policy", "accept"}}}}}};
}

// The trace table for as long as it lives.
class TraceTable {
 public:
  static Result<std::unique_ptr<TraceTable>> Create(const ProbePlan& p, bool icmp) {
    BERTH_ASSIGN_OR_RETURN(auto fw, firewall::NftFirewall::Open());
    std::unique_ptr<TraceTable> t(new TraceTable(std::move(fw)));
    json del = {{"nftables", {{{"delete", {{"table", {{"family", "inet"}, {"name", kTraceTable}}}}}}}}};
    (void)t->fw_->Run(del.dump());  // one left by a trace killed with -9
    json cmds = json::array();
    cmds.push_back({{"add", {{"table", {{"family", "inet"}, {"name", kTraceTable}}}}}});
    cmds.push_back(Chain("pre", "prerouting"));
    cmds.push_back(Chain("out", "output"));
    cmds.push_back(MarkRule("pre", p, icmp));
    cmds.push_back(MarkRule("out", p, icmp));
    BERTH_TRY_CTX(t->fw_->Run(json{{"nftables", cmds}}.dump()), "set up tracing");
    t->made_ = true;
    return t;
  }
  ~TraceTable() {
    if (!made_) return;
    json del = {{"nftables", {{{"delete", {{"table", {{"family", "inet"}, {"name", kTraceTable}}}}}}}}};
    (void)fw_->Run(del.dump());
  }
  std::map<std::string, UserRule> Rules() {
    json list = {{"nftables", {{{"list", {{"ruleset", nullptr}}}}}}};
    std::string out;
    if (!fw_->Run(list.dump(), &out).ok()) return {};
    return ParseRules(out);
  }

 private:
  explicit TraceTable(std::unique_ptr<firewall::NftFirewall> fw) : fw_(std::move(fw)) {}
  std::unique_ptr<firewall::NftFirewall> fw_;
  bool made_ = false;
};

std::string IfName(uint32_t index) {
  char buf[IF_NAMESIZE] = {};
  if (index == 0) return "";
  return if_indextoname(index, buf) ? buf : "if" + std::to_string(index);
}

std::string Verdict(const nftnl_trace* t) {
  if (!nftnl_trace_is_set(t, NFTNL_TRACE_VERDICT)) return "continue";
  int32_t v = static_cast<int32_t>(nftnl_trace_get_u32(t, NFTNL_TRACE_VERDICT));
  std::string target = nftnl_trace_is_set(t, NFTNL_TRACE_JUMP_TARGET)
                           ? std::string(" ") + nftnl_trace_get_str(t, NFTNL_TRACE_JUMP_TARGET)
                           : "";
  switch (v) {
    case NF_DROP: return "drop";
    case NF_ACCEPT: return "accept";
    case NF_QUEUE: return "queue";
    case NFT_CONTINUE: return "continue";
    case NFT_BREAK: return "break";
    case NFT_JUMP: return "jump" + target;
    case NFT_GOTO: return "goto" + target;
    case NFT_RETURN: return "return";
    default: return "verdict " + std::to_string(v);
  }
}

// Source and destination of the packet's headers as the hook saw them.
void Addresses(const nftnl_trace* t, std::string* src, std::string* dst) {
  uint32_t len = 0;
  if (!nftnl_trace_is_set(t, NFTNL_TRACE_NETWORK_HEADER)) return;
  auto* ip = static_cast<const uint8_t*>(nftnl_trace_get_data(t, NFTNL_TRACE_NETWORK_HEADER, &len));
  if (!ip || len < 20 || (ip[0] >> 4) != 4) return;
  *src = IpAddr::FromBytes(false, ip + 12).ToString();
  *dst = IpAddr::FromBytes(false, ip + 16).ToString();
  uint8_t proto = ip[9];
  if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) &&
      nftnl_trace_is_set(t, NFTNL_TRACE_TRANSPORT_HEADER)) {
    uint32_t tlen = 0;
    auto* th = static_cast<const uint8_t*>(
        nftnl_trace_get_data(t, NFTNL_TRACE_TRANSPORT_HEADER, &tlen));
    if (th && tlen >= 4) {
      *src += ":" + std::to_string(th[0] << 8 | th[1]);
      *dst += ":" + std::to_string(th[2] << 8 | th[3]);
    }
  }
}

std::string TypeName(uint32_t type) {
  switch (type) {
    case NFT_TRACETYPE_RULE: return "rule";
    case NFT_TRACETYPE_RETURN: return "return";
    case NFT_TRACETYPE_POLICY: return "policy";
    default: return "other";
  }
}

// Reads trace events into `packets` until `until`, or a signal on `sigfd`.
bool Collect(firewall::NfnlSocket& sock, int sigfd, std::chrono::steady_clock::time_point until,
             const std::map<std::string, UserRule>& rules,
             std::map<uint32_t, TracedPacket>* packets) {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE * 4);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return true;
    pollfd fds[2] = {{sock.fd(), POLLIN, 0}, {sigfd, POLLIN, 0}};
    int n = ::poll(fds, sigfd >= 0 ? 2 : 1, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) return true;
    if (n > 0 && sigfd >= 0 && (fds[1].revents & POLLIN)) return false;
    if (n <= 0 || !(fds[0].revents & POLLIN)) continue;
    ssize_t got;
    while ((got = mnl_socket_recvfrom(sock.get(), buf.data(), buf.size())) > 0) {
      auto* nlh = reinterpret_cast<nlmsghdr*>(buf.data());
      int remaining = static_cast<int>(got);
      while (mnl_nlmsg_ok(nlh, remaining)) {
        if ((nlh->nlmsg_type & 0xff) == NFT_MSG_TRACE &&
            (nlh->nlmsg_type >> 8) == NFNL_SUBSYS_NFTABLES) {
          nftnl_trace* t = nftnl_trace_alloc();
          if (nftnl_trace_nlmsg_parse(nlh, t) == 0) {
            TraceStep s;
            std::string table = nftnl_trace_is_set(t, NFTNL_TRACE_TABLE)
                                    ? nftnl_trace_get_str(t, NFTNL_TRACE_TABLE) : "";
            if (table != kTraceTable) {
              uint32_t fam = nftnl_trace_get_u32(t, NFTNL_TRACE_FAMILY);
              s.table = std::string(fam == NFPROTO_INET ? "inet" : fam == NFPROTO_IPV4 ? "ip"
                                    : fam == NFPROTO_BRIDGE ? "bridge" : "family") + " " + table;
              s.chain = nftnl_trace_is_set(t, NFTNL_TRACE_CHAIN)
                            ? nftnl_trace_get_str(t, NFTNL_TRACE_CHAIN) : "";
              s.type = TypeName(nftnl_trace_get_u32(t, NFTNL_TRACE_TYPE));
              if (nftnl_trace_is_set(t, NFTNL_TRACE_RULE_HANDLE)) {
                s.handle = nftnl_trace_get_u64(t, NFTNL_TRACE_RULE_HANDLE);
                auto r = rules.find(table + " " + s.chain + " " + std::to_string(s.handle));
                if (r != rules.end()) s.rule = r->second.text;
              }
              s.verdict = s.type == "policy" ? "policy " + Verdict(t) : Verdict(t);
              if (nftnl_trace_is_set(t, NFTNL_TRACE_IIF)) s.iif = IfName(nftnl_trace_get_u32(t, NFTNL_TRACE_IIF));
              if (nftnl_trace_is_set(t, NFTNL_TRACE_OIF)) s.oif = IfName(nftnl_trace_get_u32(t, NFTNL_TRACE_OIF));
              Addresses(t, &s.src, &s.dst);
              uint32_t id = nftnl_trace_get_u32(t, NFTNL_TRACE_ID);
              bool fresh = !packets->count(id);
              TracedPacket& p = (*packets)[id];
              if (fresh) p.seq = packets->size();
              p.id = id;
              p.steps.push_back(std::move(s));
            }
          }
          nftnl_trace_free(t);
        }
        nlh = mnl_nlmsg_next(nlh, &remaining);
      }
    }
  }
}

// The DNAT and the outcome, from the steps.
void Summarise(TracedPacket* p) {
  std::string first_dst, last_dst;
  for (TraceStep& s : p->steps) {
    if (s.dst.empty()) continue;
    if (first_dst.empty()) first_dst = s.dst;
    last_dst = s.dst;
  }
  if (!first_dst.empty() && last_dst != first_dst) p->dnat = last_dst;
  for (const TraceStep& s : p->steps) {
    if (s.verdict == "drop" || s.verdict == "policy drop") {
      p->outcome = "dropped by " + s.table + " " + s.chain +
                   (s.handle ? " rule `" + s.rule + "` (handle " + std::to_string(s.handle) + ")"
                             : " policy");
      return;
    }
  }
  const TraceStep* last = p->steps.empty() ? nullptr : &p->steps.back();
  p->outcome = "accepted by every chain it met";
  if (last && !last->oif.empty()) p->outcome += ", out " + last->oif;
}

// Whose address each DNAT went to: a service's backend, or the container behind a published
// port. Best effort: a trace without names is still a trace.
void NameDnatTargets(engine::Engine& engine, TraceReport* r) {
  auto containers = engine.ListContainers();
  if (!containers.ok()) return;
  for (TracedPacket& p : r->packets) {
    if (p.dnat.empty()) continue;
    std::string ip = p.dnat.substr(0, p.dnat.rfind(':'));
    for (const engine::ContainerStatus& c : *containers) {
      for (const engine::EndpointStatus& e : c.endpoints) {
        if (e.endpoint.ip.ToString() != ip) continue;
        p.dnat_to = c.container.name +
                    (r->service.empty() ? "" : ", a backend of service " + r->service);
      }
    }
  }
}

}  // namespace

Result<TraceReport> Trace(engine::Engine& engine, const TraceRequest& req) {
  bool icmp = !req.why.port;
  BERTH_ASSIGN_OR_RETURN(ProbePlan plan, PlanProbe(engine, req.why));
  TraceReport report;
  report.target = plan.ip.ToString() +
                  (plan.port ? ":" + std::to_string(*plan.port) +
                                   (plan.protocol == Protocol::kUdp ? "/udp" : "/tcp")
                             : " (icmp)");
  report.service = plan.service;
  if (auto route = LookupRoute(plan.src_netns, plan.ip); route.ok()) {
    report.route = route->Text();
    report.route_detail = *route;
  } else {
    report.route_error = route.error().message();
  }
  BERTH_ASSIGN_OR_RETURN(firewall::NfnlSocket sock, firewall::NfnlSocket::Open(true));
  int group = NFNLGRP_NFTRACE;
  if (mnl_socket_setsockopt(sock.get(), NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
    return Error::System("join NFNLGRP_NFTRACE", errno);
  }
  // Ctrl-C must not leave the trace table behind: the signals are read, not delivered.
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);   // the terminal closed
  sigaddset(&set, SIGQUIT);
  ::sigprocmask(SIG_BLOCK, &set, &old);
  sys::Fd sigfd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  std::map<uint32_t, TracedPacket> packets;
  Status status = Ok();
  {
    auto table = TraceTable::Create(plan, icmp);
    if (!table.ok()) {
      status = table.error();
    } else {
      auto rules = (*table)->Rules();
      auto until = [](int ms) {
        return std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
      };
      if (req.watch_seconds > 0) {
        (void)Collect(sock, sigfd.get(), until(req.watch_seconds * 1000), rules, &packets);
      } else {
        ProbeResult r;
        std::thread probe([&] {
          r = Probe(plan.src_netns, plan.ip, plan.port, plan.protocol,
                    std::chrono::milliseconds(400));
        });
        bool go_on = Collect(sock, sigfd.get(), until(450), rules, &packets);
        probe.join();
        if (go_on) (void)Collect(sock, sigfd.get(), until(50), rules, &packets);
        report.probe = ToString(r.outcome);
      }
    }
  }  // the trace table goes here
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  BERTH_TRY(status);
  for (auto& [id, p] : packets) {
    Summarise(&p);
    report.packets.push_back(std::move(p));
  }
  std::sort(report.packets.begin(), report.packets.end(),
            [](const TracedPacket& a, const TracedPacket& b) { return a.seq < b.seq; });
  NameDnatTargets(engine, &report);
  return report;
}

std::string TraceText(const TraceReport& r) {
  std::string out = "trace to " + r.target +
                    (r.service.empty() ? "" : " (service " + r.service + ")") +
                    (r.probe.empty() ? "" : " (probe: " + r.probe + ")") + "\n";
  out += "route: " + (r.route.empty() ? r.route_error : r.route) + "\n";
  if (r.packets.empty()) out += "no packet was seen by nftables\n";
  int n = 0;
  for (const TracedPacket& p : r.packets) {
    out += "packet " + std::to_string(++n) + " (trace id " + std::to_string(p.id) + ")\n";
    for (const TraceStep& s : p.steps) {
      out += "  " + s.table + " " + s.chain + ": " +
             (s.handle ? "rule `" + s.rule + "` (handle " + std::to_string(s.handle) + ")"
                       : s.type == "policy" ? "policy" : "end of chain") +
             " -> " + s.verdict;
      if (!s.src.empty()) out += "  [" + s.src + " -> " + s.dst + "]";
      if (!s.iif.empty()) out += " in " + s.iif;
      if (!s.oif.empty()) out += " out " + s.oif;
      out += "\n";
    }
    if (!p.dnat.empty()) {
      out += "  DNAT to " + p.dnat + (p.dnat_to.empty() ? "" : " (" + p.dnat_to + ")") + "\n";
    }
    out += "  " + p.outcome + "\n";
  }
  return out;
}

std::string TraceJson(const TraceReport& r) {
  json packets = json::array();
  for (const TracedPacket& p : r.packets) {
    json steps = json::array();
    for (const TraceStep& s : p.steps) {
      steps.push_back({{"table", s.table}, {"chain", s.chain}, {"type", s.type},
                       {"handle", s.handle}, {"rule", s.rule}, {"verdict", s.verdict},
                       {"iif", s.iif}, {"oif", s.oif}, {"src", s.src}, {"dst", s.dst}});
    }
    packets.push_back({{"id", p.id}, {"steps", steps}, {"dnat", p.dnat},
                       {"dnat_to", p.dnat_to}, {"outcome", p.outcome}});
  }
  json route = nullptr;
  if (r.route_detail) {
    const RouteLookup& d = *r.route_detail;
    route = {{"text", r.route}, {"dst", d.dst.ToString()}, {"type", d.type}, {"dev", d.dev},
             {"gateway", d.gateway ? json(d.gateway->ToString()) : json(nullptr)},
             {"src", d.prefsrc ? json(d.prefsrc->ToString()) : json(nullptr)}};
  } else {
    route = {{"error", r.route_error}};
  }
  return json{{"target", r.target}, {"service", r.service}, {"probe", r.probe},
              {"route", route}, {"packets", packets}}
      .dump(2);
}

}  // namespace berth::diagnose
