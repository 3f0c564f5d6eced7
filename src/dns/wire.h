// DNS wire format (RFC 1035, 6891): parsing a query and writing a response, over caller-owned
// byte buffers. Pure and allocation-free, so the server's hot path can run it per packet; the
// fuzz target (dns/wire_fuzz.cc) feeds it arbitrary bytes.
//
// Value types only; no shared state. Thread-safe as long as each thread has its own buffers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace berth::dns {

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxNameWire = 255;   // RFC 1035 2.3.4, including the root label
inline constexpr size_t kMinUdpPayload = 512;  // without EDNS0
/// The largest UDP answer we send, whatever a client advertises (and what we advertise).
inline constexpr size_t kMaxUdpPayload = 4096;
inline constexpr size_t kMaxTcpMessage = 65535;

namespace type {
inline constexpr uint16_t kA = 1, kNs = 2, kCname = 5, kSoa = 6, kPtr = 12, kMx = 15, kTxt = 16,
                          kAaaa = 28, kSrv = 33, kOpt = 41, kAny = 255;
}
inline constexpr uint16_t kClassIn = 1;

enum class Rcode : uint8_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
  kRefused = 5,
  kBadVers = 16,  // extended (EDNS0): upper 8 bits go in the OPT record
};

// Header flag bits (the 16-bit word after the ID).
inline constexpr uint16_t kFlagQr = 0x8000, kFlagAa = 0x0400, kFlagTc = 0x0200,
                          kFlagRd = 0x0100, kFlagRa = 0x0080, kFlagCd = 0x0010;

/// A parsed query. The question name is kept twice: in wire form with the client's case (echoed
/// back byte for byte, so 0x20 case randomisation works) and as lowercase dotted text for
/// lookups ("web.1", "2.0.18.172.in-addr.arpa"; "" for the root).
struct Query {
  uint16_t id = 0;
  uint16_t flags = 0;
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  uint8_t qname_wire[kMaxNameWire];
  uint8_t qname_wire_len = 0;
  char qname[kMaxNameWire];
  uint8_t qname_len = 0;
  /// False when a label holds a byte that a lookup key cannot (a '.' or a control byte): such a
  /// name can still be forwarded, but never matches a local record.
  bool qname_plain = true;
  bool question_parsed = false;  // the fields above are valid
  bool has_edns = false;
  uint16_t edns_udp_size = 0;  // as advertised; see UdpLimit()
  uint8_t edns_version = 0;
  bool edns_do = false;

  std::string_view name() const { return {qname, qname_len}; }
  uint8_t opcode() const { return static_cast<uint8_t>((flags >> 11) & 0xf); }
  bool rd() const { return flags & kFlagRd; }
  /// How large a UDP answer to this query may be: 512 without EDNS0, else the advertised size
  /// clamped to [512, kMaxUdpPayload].
  size_t UdpLimit() const;
};

enum class ParseResult {
  kOk,
  kDrop,     // not worth an answer: shorter than a header, or a response (QR set)
  kFormErr,  // malformed: answer FORMERR (the header is echoed, the question when it parsed)
  kNotImp,   // an opcode other than QUERY
  kBadVers,  // EDNS version > 0
};

/// Parses one query message. On anything but kDrop, `q` holds at least the ID and flags, so a
/// negative answer can be written for it; the question fields are set when it parsed.
ParseResult ParseQuery(std::string_view packet, Query* q);

/// Reads a (possibly compressed) name starting at `*pos`, writing its uncompressed wire form
/// (at most kMaxNameWire bytes) to `out`; advances `*pos` past the name as it appears in place.
/// Returns the wire length, or 0 when malformed (bad label type, loop, overrun, too long).
size_t ReadName(std::string_view packet, size_t* pos, uint8_t* out);

/// Parses dotted text ("4.3.2.1.in-addr.arpa", any case) into an IPv4 address in host order.
/// Returns false unless the name is exactly a full in-addr.arpa name.
bool ParseReverseV4(std::string_view name, uint32_t* addr);
/// Same for ip6.arpa nibble names; `addr` receives 16 bytes in network order.
bool ParseReverseV6(std::string_view name, uint8_t* addr);

/// Builds a response in a caller-owned buffer: header and question first, then answer records
/// that are dropped whole (and TC set) once they no longer fit `limit`, then additional records
/// (dropped without TC when they do not fit: RFC 2181 9), then the OPT record when the query had
/// one. Answer owners point at the question (compression).
class ResponseWriter {
 public:
  /// `buf` must hold at least `limit` bytes; `limit` is clamped to >= 512 by callers.
  ResponseWriter(uint8_t* buf, size_t limit) : buf_(buf), limit_(limit) {}

  /// Header (ID, opcode, RD and CD echoed; QR and RA set, AA as given) and, when the query parsed
  /// that far, the question. Any previous content is discarded.
  void Begin(const Query& q, Rcode rcode, bool authoritative, bool with_question = true);
  /// An A record (`ip` in network byte order) or AAAA (16 bytes), owner = the question name.
  void AddA(const uint8_t ip[4], uint32_t ttl);
  void AddAaaa(const uint8_t ip[16], uint32_t ttl);
  /// A PTR record, owner = the question name, target = dotted text (labels of [a-zA-Z0-9_.-]).
  void AddPtr(std::string_view target, uint32_t ttl);
  /// An SRV record (RFC 2782), owner = the question name. The target is written uncompressed,
  /// as RFC 2782 asks.
  void AddSrv(uint16_t priority, uint16_t weight, uint16_t port, std::string_view target,
              uint32_t ttl);
  /// An A (4 bytes) or AAAA (16 bytes) record for `owner` (dotted text) in the additional
  /// section. Call after every answer: answers added later would land among the additionals.
  void AddAdditionalAddress(std::string_view owner, const uint8_t* ip, size_t ip_len,
                            uint32_t ttl);
  /// Completes the message (OPT when the query had EDNS0, counts); returns its length.
  size_t Finish();

  /// Drops every answer and sets TC at Finish() (an answer too large for the client's UDP).
  void Truncate() { truncated_ = true; }
  bool truncated() const { return truncated_; }
  uint16_t answers() const { return ancount_; }

 private:
  bool Reserve(size_t n);  // true when n more bytes fit before the OPT record
  bool Fits(size_t n) const;  // the same without marking the answer truncated
  void PutName(std::string_view dotted);  // uncompressed; NameWireLength() checked it
  void Put16(uint16_t v);
  void Put32(uint32_t v);
  void AnswerHeader(uint16_t type, uint32_t ttl, uint16_t rdlen);

  uint8_t* buf_;
  size_t limit_;
  size_t len_ = 0;
  size_t question_end_ = kHeaderSize;
  uint16_t ancount_ = 0;
  uint16_t arcount_ = 0;  // additional records, the OPT record aside
  bool truncated_ = false;
  bool edns_ = false;
  bool edns_do_ = false;
  Rcode rcode_ = Rcode::kNoError;
};

/// The wire length of dotted text `name` (labels of 1..63 bytes), 1 for the root (""); 0 when
/// it cannot be a name (an empty or too long label, longer than kMaxNameWire).
size_t NameWireLength(std::string_view name);

/// FORMERR/SERVFAIL/REFUSED/...: a header-only (plus question when parsed) answer to `q`.
size_t WriteError(const Query& q, Rcode rcode, bool with_question, uint8_t* buf, size_t limit);

inline uint16_t Load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline void Store16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

}  // namespace berth::dns
