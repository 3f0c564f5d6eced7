#include "dns/port_names.h"

namespace berth::dns {

namespace {

struct PortName {
  uint16_t port;
  bool tcp, udp;
  std::string_view name;
};

// The names of IANA's Service Name and Transport Protocol Port Number Registry for the ports
// containers commonly serve (the names Debian's /etc/services uses, where it has the port).
constexpr PortName kNames[] = {
    {20, true, false, "ftp-data"},   {21, true, false, "ftp"},
    {22, true, false, "ssh"},        {23, true, false, "telnet"},
    {25, true, false, "smtp"},       {53, true, true, "domain"},
    {67, false, true, "bootps"},     {68, false, true, "bootpc"},
    {69, false, true, "tftp"},       {80, true, false, "http"},
    {88, true, true, "kerberos"},    {110, true, false, "pop3"},
    {119, true, false, "nntp"},      {123, false, true, "ntp"},
    {143, true, false, "imap2"},     {161, true, true, "snmp"},
    {162, true, true, "snmp-trap"}, {179, true, false, "bgp"},
    {389, true, true, "ldap"},      {443, true, true, "https"},
    {465, true, false, "submissions"}, {514, false, true, "syslog"},
    {587, true, false, "submission"}, {631, true, false, "ipp"},
    {636, true, true, "ldaps"},     {853, true, true, "domain-s"},
    {873, true, false, "rsync"},     {993, true, false, "imaps"},
    {995, true, false, "pop3s"},     {1883, true, false, "mqtt"},
    {2049, true, true, "nfs"},       {3306, true, false, "mysql"},
    {3478, true, true, "stun"},      {4369, true, false, "epmd"},
    {5060, true, true, "sip"},       {5353, false, true, "mdns"},
    {5432, true, false, "postgresql"}, {5672, true, false, "amqp"},
    {6379, true, false, "redis"},    
    {8080, true, false, "http-alt"}, {8883, true, false, "secure-mqtt"},
    {9418, true, false, "git"},      {11211, true, true, "memcache"},
    {27017, true, false, "mongodb"},
};

}  // namespace

std::string_view WellKnownPortName(uint16_t port, bool udp) {
  for (const PortName& p : kNames) {
    if (p.port == port && (udp ? p.udp : p.tcp)) return p.name;
  }
  return {};
}

}  // namespace berth::dns
