#include "sys/footprint.h"

#include <dirent.h>
#include <net/if.h>

#include <cstring>
#include <sstream>

#include "core/model.h"
#include "sys/proc.h"

namespace berth::sys {

std::vector<std::string> Footprint(const std::string& root) {
  std::vector<std::string> out;
  // /proc/self/mountinfo field 5 is the mount point (octal escapes for spaces: berth's roots
  // have none that matter here, the prefix test is on the escaped form either way).
  if (auto info = ReadFile("/proc/self/mountinfo"); info.ok()) {
    std::istringstream lines(*info);
    std::string line;
    size_t mounts = 0;
    std::string first;
    while (std::getline(lines, line)) {
      std::istringstream f(line);
      std::string id, parent, dev, fsroot, point;
      f >> id >> parent >> dev >> fsroot >> point;
      if (point.size() > root.size() && point.compare(0, root.size(), root) == 0 &&
          point[root.size()] == '/') {
        if (mounts++ == 0) first = point;
      }
    }
    if (mounts) {
      out.push_back(std::to_string(mounts) + (mounts == 1 ? " mount" : " mounts") +
                    " under the root (" + first + ")");
    }
  }
  if (DIR* d = ::opendir((root + "/containers").c_str())) {
    size_t n = 0;
    while (dirent* e = ::readdir(d)) n += std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..");
    ::closedir(d);
    if (n) {
      out.push_back(std::to_string(n) + (n == 1 ? " container directory" : " container directories") +
                    " in " + root + "/containers");
    }
  }
  if (::if_nametoindex(kDefaultBridgeName) != 0) {
    out.push_back(std::string("the default network's bridge ") + kDefaultBridgeName);
  }
  return out;
}

}  // namespace berth::sys
