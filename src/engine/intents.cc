#include "engine/intents.h"

#include <dirent.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "sys/proc.h"

namespace berth::engine {

namespace {

uint64_t OwnStartTime() {
  static const uint64_t t = [] {
    auto st = sys::ProcessStartTime(::getpid());
    return st.ok() ? *st : 0;
  }();
  return t;
}

// "<pid>-<start time>-<seq>.json": the writer is known from the name alone, so a file cut
// short by a kill while it was written (before any kernel change) is still attributed.
bool ParseName(const std::string& name, pid_t* pid, uint64_t* start_time) {
  char* end = nullptr;
  long p = std::strtol(name.c_str(), &end, 10);
  if (p <= 0 || *end != '-') return false;
  uint64_t t = std::strtoull(end + 1, &end, 10);
  if (*end != '-') return false;
  *pid = static_cast<pid_t>(p);
  *start_time = t;
  return true;
}

}  // namespace

std::string EncodeIntent(const Intent& in) {
  nlohmann::json j = {{"kind", in.kind},          {"container", in.container_id},
                      {"network", in.network_id}, {"links", in.links},
                      {"netns", in.netns_path},   {"pid", in.pid},
                      {"start_time", in.start_time}};
  return j.dump();
}

Result<Intent> DecodeIntent(const std::string& text) {
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    Intent in;
    in.kind = j.at("kind").get<std::string>();
    in.container_id = j.value("container", "");
    in.network_id = j.value("network", "");
    in.links = j.value("links", std::vector<std::string>{});
    in.netns_path = j.value("netns", "");
    in.pid = j.value("pid", 0);
    in.start_time = j.value("start_time", uint64_t{0});
    return in;
  } catch (const std::exception& e) {
    return Error::Internal(std::string("unreadable intent: ") + e.what());
  }
}

Result<std::string> Intents::Record(Intent intent) const {
  static std::atomic<uint64_t> seq{0};
  intent.pid = ::getpid();
  intent.start_time = OwnStartTime();
  std::string path = dir_ + "/" + std::to_string(intent.pid) + "-" +
                     std::to_string(intent.start_time) + "-" + std::to_string(seq++) + ".json";
  Status st = sys::WriteFileAtomic(path, EncodeIntent(intent), 0600);
  if (!st.ok() && st.error().code() == Code::kNotFound) {  // a root older than intents
    BERTH_TRY(sys::MakeDirs(dir_, 0700));
    st = sys::WriteFileAtomic(path, EncodeIntent(intent), 0600);
  }
  BERTH_TRY_CTX(std::move(st), "record the operation's intent");
  return path;
}

Status Intents::Update(const std::string& path, Intent intent) const {
  intent.pid = ::getpid();
  intent.start_time = OwnStartTime();
  return sys::WriteFileAtomic(path, EncodeIntent(intent), 0600);
}

Status Intents::Forget(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Error::System("remove intent " + path, errno);
  }
  return Ok();
}

Result<std::vector<IntentFile>> Intents::All() const {
  std::vector<IntentFile> out;
  DIR* d = ::opendir(dir_.c_str());
  if (!d) {
    if (errno == ENOENT) return out;
    return Error::System("read " + dir_, errno);
  }
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    pid_t pid = 0;
    uint64_t start = 0;
    if (name.empty() || name[0] == '.' || !ParseName(name, &pid, &start)) continue;
    IntentFile f{dir_ + "/" + name, {}};
    // A temporary file (".json.tmpPID") is an intent whose writer was killed while writing
    // it, before any kernel change: returned with an empty kind, to be dropped.
    bool complete = name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0;
    auto text = complete ? sys::ReadFile(f.path) : Result<std::string>(Error::NotFound(name));
    if (text.ok()) {
      auto in = DecodeIntent(*text);
      if (in.ok()) f.intent = std::move(*in);
    }
    f.intent.pid = pid;
    f.intent.start_time = start;
    out.push_back(std::move(f));
  }
  ::closedir(d);
  return out;
}

Result<std::vector<IntentFile>> Intents::Orphans() const {
  BERTH_ASSIGN_OR_RETURN(std::vector<IntentFile> all, All());
  std::vector<IntentFile> out;
  for (IntentFile& f : all) {
    if (!sys::IsAlive(f.intent.pid, f.intent.start_time)) out.push_back(std::move(f));
  }
  return out;
}

}  // namespace berth::engine
