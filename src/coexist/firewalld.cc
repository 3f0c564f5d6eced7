#include "coexist/firewalld.h"

#include <systemd/sd-bus.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace berth::coexist {

namespace {

constexpr char kService[] = "org.fedoraproject.FirewallD1";
constexpr char kPath[] = "/org/fedoraproject/FirewallD1";
constexpr char kZoneIface[] = "org.fedoraproject.FirewallD1.zone";

struct BusUnref {
  void operator()(sd_bus* b) const { sd_bus_flush_close_unref(b); }
};
struct MsgUnref {
  void operator()(sd_bus_message* m) const { sd_bus_message_unref(m); }
};
using Bus = std::unique_ptr<sd_bus, BusUnref>;
using Msg = std::unique_ptr<sd_bus_message, MsgUnref>;

// Calls a method taking strings and returning one string (firewalld's zone methods do).
Result<std::string> CallS(sd_bus* bus, const char* method, const char* a, const char* b) {
  sd_bus_error err = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  int r = b ? sd_bus_call_method(bus, kService, kPath, kZoneIface, method, &err, &reply, "ss", a, b)
            : sd_bus_call_method(bus, kService, kPath, kZoneIface, method, &err, &reply, "s", a);
  Msg hold(reply);
  if (r < 0) {
    std::string msg =
        std::string("firewalld ") + method + ": " + (err.message ? err.message : std::strerror(-r));
    sd_bus_error_free(&err);
    return Error(Code::kSystem, msg, -r);
  }
  const char* out = nullptr;
  if (sd_bus_message_read(reply, "s", &out) < 0 || !out) return std::string();
  return std::string(out);
}

bool Running(sd_bus* bus) {
  sd_bus_error err = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  int r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                             "org.freedesktop.DBus", "NameHasOwner", &err, &reply, "s", kService);
  Msg hold(reply);
  sd_bus_error_free(&err);
  int has = 0;
  return r >= 0 && sd_bus_message_read(reply, "b", &has) >= 0 && has;
}

}  // namespace

Finding SyncFirewalld(const std::vector<std::string>& bridges, const std::vector<std::string>& gone,
                      bool apply) {
  Finding f;
  f.manager = "firewalld";
  sd_bus* raw = nullptr;
  if (sd_bus_open_system(&raw) < 0) {
    f.state = "no system D-Bus";
    f.action = "none needed";
    return f;
  }
  Bus bus(raw);
  sd_bus_set_method_call_timeout(bus.get(), 3 * 1000 * 1000);  // a hung firewalld: 3 s, not 25
  if (!Running(bus.get())) {
    f.state = "not running";
    f.action = "none needed";
    return f;
  }
  f.present = true;
  int added = 0, kept = 0, removed = 0;
  std::string foreign;
  for (const std::string& b : bridges) {
    auto zone = CallS(bus.get(), "getZoneOfInterface", b.c_str(), nullptr);
    if (!zone.ok()) {
      f.error = zone.error().message();
      break;
    }
    if (*zone == kFirewalldZone) {
      ++kept;
      continue;
    }
    if (!zone->empty()) {
      // The operator bound it elsewhere on purpose: theirs to decide.
      foreign += (foreign.empty() ? "" : ", ") + b + " in zone " + *zone;
      continue;
    }
    if (!apply) {
      ++added;
      continue;
    }
    auto r = CallS(bus.get(), "addInterface", kFirewalldZone, b.c_str());
    if (!r.ok()) {
      f.error = r.error().message();
      break;
    }
    ++added;
  }
  for (const std::string& b : gone) {
    auto zone = CallS(bus.get(), "getZoneOfInterface", b.c_str(), nullptr);
    if (!zone.ok() || *zone != kFirewalldZone) continue;
    if (apply && !CallS(bus.get(), "removeInterface", kFirewalldZone, b.c_str()).ok()) continue;
    ++removed;
  }
  f.state = "running; " + std::to_string(kept) + " of berth's bridges in zone " + kFirewalldZone;
  if (!foreign.empty()) f.state += "; left in the operator's zones: " + foreign;
  std::string verb = apply ? "" : "would: ";
  if (added == 0 && removed == 0) {
    f.action = bridges.empty() ? "none needed" : "bridges in zone trusted (in place)";
  } else {
    f.action = verb + "bound " + std::to_string(added) + " bridge(s) to zone trusted";
    if (removed) f.action += ", unbound " + std::to_string(removed);
  }
  return f;
}

}  // namespace berth::coexist
