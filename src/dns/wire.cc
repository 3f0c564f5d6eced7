#include "dns/wire.h"

#include <algorithm>
#include <cstring>

namespace berth::dns {

namespace {

constexpr int kMaxPointerJumps = 126;  // more than any legal name can need
constexpr size_t kOptSize = 11;        // root name, type, class, ttl, rdlen
constexpr uint16_t kAdvertisedUdp = 1232;  // what we accept (DNS flag day 2020)

const uint8_t* U8(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// Skips one resource record at *pos (name, fixed part, rdata); false when it overruns.
bool SkipRecord(std::string_view pkt, size_t* pos, uint16_t* type, uint16_t* klass,
                uint32_t* ttl, size_t* rdata, uint16_t* rdlen, size_t* name_len) {
  uint8_t name[kMaxNameWire];
  size_t n = ReadName(pkt, pos, name);
  if (n == 0 || *pos + 10 > pkt.size()) return false;
  const uint8_t* p = U8(pkt) + *pos;
  *type = Load16(p);
  *klass = Load16(p + 2);
  *ttl = static_cast<uint32_t>(Load16(p + 4)) << 16 | Load16(p + 6);
  *rdlen = Load16(p + 8);
  *rdata = *pos + 10;
  *name_len = n;
  if (*rdata + *rdlen > pkt.size()) return false;
  *pos = *rdata + *rdlen;
  return true;
}

void NameToText(Query* q) {
  size_t i = 0, out = 0;
  q->qname_plain = true;
  while (i < q->qname_wire_len) {
    uint8_t l = q->qname_wire[i++];
    if (l == 0) break;
    if (out > 0) q->qname[out++] = '.';
    for (uint8_t k = 0; k < l; ++k) {
      char c = static_cast<char>(q->qname_wire[i++]);
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c == '.' || static_cast<unsigned char>(c) <= 0x20 ||
          static_cast<unsigned char>(c) >= 0x7f) {
        q->qname_plain = false;
      }
      q->qname[out++] = c;
    }
  }
  q->qname_len = static_cast<uint8_t>(out);
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

size_t Query::UdpLimit() const {
  if (!has_edns) return kMinUdpPayload;
  return std::clamp<size_t>(edns_udp_size, kMinUdpPayload, kMaxUdpPayload);
}

size_t ReadName(std::string_view pkt, size_t* pos, uint8_t* out) {
  size_t p = *pos, len = 0;
  bool jumped = false;
  int jumps = 0;
  for (;;) {
    if (p >= pkt.size()) return 0;
    uint8_t l = static_cast<uint8_t>(pkt[p]);
    if ((l & 0xc0) == 0xc0) {
      if (p + 1 >= pkt.size() || ++jumps > kMaxPointerJumps) return 0;
      size_t target = static_cast<size_t>(l & 0x3f) << 8 | static_cast<uint8_t>(pkt[p + 1]);
      if (!jumped) *pos = p + 2;
      jumped = true;
      p = target;
      continue;
    }
    if ((l & 0xc0) != 0) return 0;  // 0x40 / 0x80: extended and reserved label types
    if (l == 0) {
      if (len + 1 > kMaxNameWire) return 0;
      out[len++] = 0;
      if (!jumped) *pos = p + 1;
      return len;
    }
    if (p + 1 + l > pkt.size() || len + 1 + l + 1 > kMaxNameWire) return 0;
    std::memcpy(out + len, pkt.data() + p, 1 + static_cast<size_t>(l));
    len += 1 + static_cast<size_t>(l);
    p += 1 + static_cast<size_t>(l);
  }
}

ParseResult ParseQuery(std::string_view pkt, Query* q) {
  q->question_parsed = false;
  q->has_edns = false;
  q->edns_udp_size = 0;
  q->edns_version = 0;
  q->edns_do = false;
  if (pkt.size() < kHeaderSize) return ParseResult::kDrop;
  const uint8_t* h = U8(pkt);
  q->id = Load16(h);
  q->flags = Load16(h + 2);
  if (q->flags & kFlagQr) return ParseResult::kDrop;
  if (q->opcode() != 0) return ParseResult::kNotImp;
  uint16_t qd = Load16(h + 4), an = Load16(h + 6), ns = Load16(h + 8), ar = Load16(h + 10);
  if (qd != 1) return ParseResult::kFormErr;

  size_t pos = kHeaderSize;
  size_t n = ReadName(pkt, &pos, q->qname_wire);
  if (n == 0 || pos + 4 > pkt.size()) return ParseResult::kFormErr;
  q->qname_wire_len = static_cast<uint8_t>(n);
  q->qtype = Load16(h + pos);
  q->qclass = Load16(h + pos + 2);
  pos += 4;
  NameToText(q);
  q->question_parsed = true;

  uint16_t type, klass, rdlen;
  uint32_t ttl;
  size_t rdata, name_len;
  for (uint32_t i = 0; i < static_cast<uint32_t>(an) + ns; ++i) {
    if (!SkipRecord(pkt, &pos, &type, &klass, &ttl, &rdata, &rdlen, &name_len)) {
      return ParseResult::kFormErr;
    }
  }
  for (uint16_t i = 0; i < ar; ++i) {
    if (!SkipRecord(pkt, &pos, &type, &klass, &ttl, &rdata, &rdlen, &name_len)) {
      return ParseResult::kFormErr;
    }
    if (type != type::kOpt) continue;
    // RFC 6891 6.1.1: one OPT, owned by the root.
    if (q->has_edns || name_len != 1) return ParseResult::kFormErr;
    q->has_edns = true;
    q->edns_udp_size = klass;
    q->edns_version = static_cast<uint8_t>(ttl >> 16);
    q->edns_do = (ttl & 0x8000) != 0;
    // Options: each a code, a length and that many bytes, exactly filling rdata.
    size_t o = rdata, end = rdata + rdlen;
    while (o < end) {
      if (o + 4 > end) return ParseResult::kFormErr;
      o += 4 + Load16(h + o + 2);
    }
    if (o != end) return ParseResult::kFormErr;
  }
  if (q->has_edns && q->edns_version > 0) return ParseResult::kBadVers;
  return ParseResult::kOk;
}

bool ParseReverseV4(std::string_view name, uint32_t* addr) {
  constexpr std::string_view kSuffix = ".in-addr.arpa";
  if (!EndsWith(name, kSuffix)) return false;
  name.remove_suffix(kSuffix.size());
  uint32_t octets[4];
  for (int i = 0; i < 4; ++i) {
    size_t dot = name.find('.');
    std::string_view label = name.substr(0, dot);
    if (label.empty() || label.size() > 3) return false;
    uint32_t v = 0;
    for (char c : label) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<uint32_t>(c - '0');
    }
    if (v > 255) return false;
    octets[i] = v;
    if (i < 3) {
      if (dot == std::string_view::npos) return false;
      name.remove_prefix(dot + 1);
    } else if (dot != std::string_view::npos) {
      return false;
    }
  }
  *addr = octets[3] << 24 | octets[2] << 16 | octets[1] << 8 | octets[0];
  return true;
}

bool ParseReverseV6(std::string_view name, uint8_t* addr) {
  constexpr std::string_view kSuffix = ".ip6.arpa";
  if (!EndsWith(name, kSuffix)) return false;
  name.remove_suffix(kSuffix.size());
  if (name.size() != 63) return false;  // 32 nibbles and 31 dots
  std::memset(addr, 0, 16);
  for (int i = 0; i < 32; ++i) {
    char c = name[static_cast<size_t>(i) * 2];
    if (i < 31 && name[static_cast<size_t>(i) * 2 + 1] != '.') return false;
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else {
      return false;
    }
    int nibble = 31 - i;  // the first label is the lowest nibble
    addr[nibble / 2] = static_cast<uint8_t>(addr[nibble / 2] | (nibble % 2 ? v : v << 4));
  }
  return true;
}

void ResponseWriter::Put16(uint16_t v) {
  Store16(buf_ + len_, v);
  len_ += 2;
}

void ResponseWriter::Put32(uint32_t v) {
  Put16(static_cast<uint16_t>(v >> 16));
  Put16(static_cast<uint16_t>(v));
}

void ResponseWriter::Begin(const Query& q, Rcode rcode, bool authoritative, bool with_question) {
  with_question = with_question && q.question_parsed;
  len_ = 0;
  ancount_ = 0;
  arcount_ = 0;
  truncated_ = false;
  edns_ = q.has_edns;
  edns_do_ = q.edns_do;
  rcode_ = rcode;
  uint16_t flags = static_cast<uint16_t>(kFlagQr | (q.flags & (0x7800 | kFlagRd | kFlagCd)) |
                                         kFlagRa | (static_cast<uint8_t>(rcode) & 0xf));
  if (authoritative) flags |= kFlagAa;
  Put16(q.id);
  Put16(flags);
  Put16(with_question ? 1 : 0);
  Put16(0);
  Put16(0);
  Put16(0);
  if (with_question && len_ + q.qname_wire_len + 4u <= limit_) {
    std::memcpy(buf_ + len_, q.qname_wire, q.qname_wire_len);
    len_ += q.qname_wire_len;
    Put16(q.qtype);
    Put16(q.qclass);
  } else {
    Store16(buf_ + 4, 0);
  }
  question_end_ = len_;
}

bool ResponseWriter::Reserve(size_t n) {
  if (truncated_) return false;
  if (len_ + n + (edns_ ? kOptSize : 0) > limit_) {
    truncated_ = true;
    return false;
  }
  return true;
}

void ResponseWriter::AnswerHeader(uint16_t type, uint32_t ttl, uint16_t rdlen) {
  Put16(0xc000 | kHeaderSize);  // pointer to the question name
  Put16(type);
  Put16(kClassIn);
  Put32(ttl);
  Put16(rdlen);
  ++ancount_;
}

void ResponseWriter::AddA(const uint8_t ip[4], uint32_t ttl) {
  if (!Reserve(12 + 4)) return;
  AnswerHeader(type::kA, ttl, 4);
  std::memcpy(buf_ + len_, ip, 4);
  len_ += 4;
}

void ResponseWriter::AddAaaa(const uint8_t ip[16], uint32_t ttl) {
  if (!Reserve(12 + 16)) return;
  AnswerHeader(type::kAaaa, ttl, 16);
  std::memcpy(buf_ + len_, ip, 16);
  len_ += 16;
}

void ResponseWriter::PutName(std::string_view dotted) {
  size_t start = 0;
  while (start < dotted.size()) {
    size_t dot = dotted.find('.', start);
    size_t l = (dot == std::string_view::npos ? dotted.size() : dot) - start;
    buf_[len_++] = static_cast<uint8_t>(l);
    std::memcpy(buf_ + len_, dotted.data() + start, l);
    len_ += l;
    start += l + 1;
  }
  buf_[len_++] = 0;
}

void ResponseWriter::AddPtr(std::string_view target, uint32_t ttl) {
  size_t wire = NameWireLength(target);
  if (wire == 0 || !Reserve(12 + wire)) return;
  AnswerHeader(type::kPtr, ttl, static_cast<uint16_t>(wire));
  PutName(target);
}

void ResponseWriter::AddSrv(uint16_t priority, uint16_t weight, uint16_t port,
                            std::string_view target, uint32_t ttl) {
  size_t wire = NameWireLength(target);
  if (wire == 0 || !Reserve(12 + 6 + wire)) return;
  AnswerHeader(type::kSrv, ttl, static_cast<uint16_t>(6 + wire));
  Put16(priority);
  Put16(weight);
  Put16(port);
  PutName(target);
}

bool ResponseWriter::Fits(size_t n) const {
  return !truncated_ && len_ + n + (edns_ ? kOptSize : 0) <= limit_;
}

void ResponseWriter::AddAdditionalAddress(std::string_view owner, const uint8_t* ip,
                                          size_t ip_len, uint32_t ttl) {
  size_t wire = NameWireLength(owner);
  if (wire == 0 || (ip_len != 4 && ip_len != 16) || !Fits(wire + 10 + ip_len)) return;
  PutName(owner);
  Put16(ip_len == 4 ? type::kA : type::kAaaa);
  Put16(kClassIn);
  Put32(ttl);
  Put16(static_cast<uint16_t>(ip_len));
  std::memcpy(buf_ + len_, ip, ip_len);
  len_ += ip_len;
  ++arcount_;
}

size_t ResponseWriter::Finish() {
  if (truncated_) {
    len_ = question_end_;
    ancount_ = 0;
    arcount_ = 0;
    Store16(buf_ + 2, Load16(buf_ + 2) | kFlagTc);
  }
  Store16(buf_ + 6, ancount_);
  Store16(buf_ + 10, arcount_);
  if (edns_ && len_ + kOptSize <= limit_) {
    buf_[len_++] = 0;  // root
    Put16(type::kOpt);
    Put16(kAdvertisedUdp);
    uint8_t ext_rcode = static_cast<uint8_t>(static_cast<uint8_t>(rcode_) >> 4);
    // Version 0; the DO bit is copied from the query (RFC 3225 3).
    Put32(static_cast<uint32_t>(ext_rcode) << 24 | (edns_do_ ? 0x8000u : 0u));
    Put16(0);
    Store16(buf_ + 10, static_cast<uint16_t>(arcount_ + 1));
  }
  return len_;
}

size_t NameWireLength(std::string_view name) {
  if (name.empty()) return 1;
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    size_t l = (dot == std::string_view::npos ? name.size() : dot) - start;
    if (l == 0 || l > 63) return 0;
    start += l + 1;
  }
  // A trailing dot ends the loop one past the end; the root label is the final zero.
  size_t wire = name.back() == '.' ? name.size() + 1 : name.size() + 2;
  return wire > kMaxNameWire ? 0 : wire;
}

size_t WriteError(const Query& q, Rcode rcode, bool with_question, uint8_t* buf, size_t limit) {
  ResponseWriter w(buf, limit);
  w.Begin(q, rcode, false, with_question);
  return w.Finish();
}

}  // namespace berth::dns
