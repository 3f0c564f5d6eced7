// Test helpers: building query packets and reading responses, independently of wire.cc (so a
// bug there cannot hide itself). Used by the unit tests only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace berth::dns::testing_util {

inline void Put16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v >> 8));
  s.push_back(static_cast<char>(v & 0xff));
}

inline std::string EncodeName(const std::string& name) {
  std::string out;
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    out.push_back(static_cast<char>(dot - start));
    out += name.substr(start, dot - start);
    start = dot + 1;
  }
  out.push_back('\0');
  return out;
}

/// A standard query with RD set; `edns_size` > 0 adds an OPT record.
inline std::string MakeQuery(uint16_t id, const std::string& name, uint16_t qtype,
                             uint16_t edns_size = 0, bool do_bit = false) {
  std::string s;
  Put16(s, id);
  Put16(s, 0x0100);
  Put16(s, 1);
  Put16(s, 0);
  Put16(s, 0);
  Put16(s, edns_size ? 1 : 0);
  s += EncodeName(name);
  Put16(s, qtype);
  Put16(s, 1);
  if (edns_size) {
    s.push_back('\0');
    Put16(s, 41);
    Put16(s, edns_size);
    Put16(s, 0);                       // ext rcode, version
    Put16(s, do_bit ? 0x8000 : 0);     // flags
    Put16(s, 0);                       // rdlen
  }
  return s;
}

struct Srv {
  uint16_t priority = 0, weight = 0, port = 0;
  std::string target;
};

struct Response {
  bool ok = false;
  uint16_t id = 0;
  int rcode = -1;
  bool aa = false, tc = false, rd = false, ra = false;
  std::string qname;
  uint16_t qtype = 0;
  std::vector<std::string> a, aaaa, ptr;  // in the answer section
  std::vector<Srv> srv;
  std::vector<std::string> additional_a;  // "owner A address" in the additional section
  uint16_t ancount = 0, arcount = 0;
  bool has_opt = false, opt_do = false;
  int opt_ext_rcode = 0;
};

namespace detail {
inline uint16_t Get16(const std::string& s, size_t p) {
  return static_cast<uint16_t>(static_cast<uint8_t>(s[p]) << 8 | static_cast<uint8_t>(s[p + 1]));
}
inline bool Name(const std::string& s, size_t* pos, std::string* out) {
  size_t p = *pos;
  bool jumped = false;
  for (int guard = 0; guard < 128; ++guard) {
    if (p >= s.size()) return false;
    uint8_t l = static_cast<uint8_t>(s[p]);
    if ((l & 0xc0) == 0xc0) {
      if (p + 1 >= s.size()) return false;
      if (!jumped) *pos = p + 2;
      jumped = true;
      p = static_cast<size_t>(l & 0x3f) << 8 | static_cast<uint8_t>(s[p + 1]);
      continue;
    }
    if (l == 0) {
      if (!jumped) *pos = p + 1;
      return true;
    }
    if (p + 1 + l > s.size()) return false;
    if (!out->empty()) *out += ".";
    *out += s.substr(p + 1, l);
    p += 1 + l;
  }
  return false;
}
}  // namespace detail

inline Response ParseResponse(const std::string& s) {
  Response r;
  if (s.size() < 12) return r;
  r.id = detail::Get16(s, 0);
  uint16_t f = detail::Get16(s, 2);
  r.rcode = f & 0xf;
  r.aa = f & 0x0400;
  r.tc = f & 0x0200;
  r.rd = f & 0x0100;
  r.ra = f & 0x0080;
  uint16_t qd = detail::Get16(s, 4), an = detail::Get16(s, 6), ns = detail::Get16(s, 8),
           ar = detail::Get16(s, 10);
  r.ancount = an;
  r.arcount = ar;
  size_t p = 12;
  for (int i = 0; i < qd; ++i) {
    if (!detail::Name(s, &p, &r.qname) || p + 4 > s.size()) return r;
    r.qtype = detail::Get16(s, p);
    p += 4;
  }
  for (int i = 0; i < an + ns + ar; ++i) {
    std::string owner;
    if (!detail::Name(s, &p, &owner) || p + 10 > s.size()) return r;
    uint16_t type = detail::Get16(s, p), klass = detail::Get16(s, p + 2);
    uint16_t rdlen = detail::Get16(s, p + 8);
    uint8_t ttl_hi = static_cast<uint8_t>(s[p + 4]);
    uint16_t ttl_lo = detail::Get16(s, p + 6);
    (void)klass;
    size_t rd = p + 10;
    if (rd + rdlen > s.size()) return r;
    bool additional = i >= an + ns;
    if (type == 1 && rdlen == 4) {
      std::string ip = std::to_string(static_cast<uint8_t>(s[rd])) + "." +
                       std::to_string(static_cast<uint8_t>(s[rd + 1])) + "." +
                       std::to_string(static_cast<uint8_t>(s[rd + 2])) + "." +
                       std::to_string(static_cast<uint8_t>(s[rd + 3]));
      if (additional) {
        r.additional_a.push_back(owner + " A " + ip);
      } else {
        r.a.push_back(ip);
      }
    } else if (type == 33 && rdlen > 6) {
      Srv srv{detail::Get16(s, rd), detail::Get16(s, rd + 2), detail::Get16(s, rd + 4), ""};
      size_t q = rd + 6;
      // RFC 2782: the target is never compressed.
      if (!detail::Name(s, &q, &srv.target) || q != rd + rdlen) return r;
      r.srv.push_back(srv);
    } else if (type == 28 && rdlen == 16) {
      r.aaaa.push_back(s.substr(rd, 16));
    } else if (type == 12) {
      std::string target;
      size_t q = rd;
      if (!detail::Name(s, &q, &target)) return r;
      r.ptr.push_back(target);
    } else if (type == 41) {
      r.has_opt = true;
      r.opt_ext_rcode = ttl_hi;
      r.opt_do = ttl_lo & 0x8000;
    }
    p = rd + rdlen;
  }
  r.ok = p == s.size();
  return r;
}

}  // namespace berth::dns::testing_util
