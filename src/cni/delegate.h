// Delegation (SPEC.md section 4): running another plugin, e.g. the IPAM plugin named by
// ipam.type, the way a runtime runs one: found by name on CNI_PATH, with this process's
// environment but for CNI_COMMAND, and the same network configuration on stdin.
//
// Delegator is the seam: the real one execs (sys::Subprocess), tests use a fake.
#pragma once

#include <string>
#include <string_view>

#include "cni/protocol.h"
#include "cni/result.h"

namespace berth::cni {

struct PluginOutput {
  int exit_code = 0;
  std::string out;  // stdout: a result or an error document
  std::string err;  // stderr: logs
};

class Delegator {
 public:
  virtual ~Delegator() = default;
  /// Runs plugin `type` with CNI_COMMAND=`command`. Fails (kInvalid, so code 7) when there is
  /// no such plugin on CNI_PATH; a plugin that ran and failed is a PluginOutput, not an error.
  virtual Result<PluginOutput> Run(const std::string& type, const std::string& command,
                                   std::string_view stdin_data) = 0;
};

/// The first executable file `type` in the colon-separated `cni_path`, or "" when none.
std::string FindPlugin(std::string_view cni_path, std::string_view type);

class ExecDelegator : public Delegator {
 public:
  explicit ExecDelegator(std::string cni_path) : cni_path_(std::move(cni_path)) {}
  Result<PluginOutput> Run(const std::string& type, const std::string& command,
                           std::string_view stdin_data) override;

 private:
  std::string cni_path_;
};

/// The delegate's answer as a result (ADD) or nothing (other commands); its error document
/// becomes ours: its code kept (Error::cni_code), its message prefixed with "<type>: ", its
/// details kept.
Result<AddResult> DelegateAdd(Delegator& d, const std::string& type, std::string_view conf);
Status Delegate(Delegator& d, const std::string& type, const std::string& command,
                std::string_view conf);

}  // namespace berth::cni
