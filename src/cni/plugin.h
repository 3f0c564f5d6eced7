// The berth CNI plugin: one invocation (environment + stdin) in, what to print on stdout and
// the exit status out. ADD, DEL, CHECK, STATUS, VERSION and GC per SPEC.md 1.1, on top of the
// engine's external attachments (engine/external.h).
//
// Order of checks on every invocation: the environment (code 4), stdin as JSON (6), the
// version (1), the configuration (7, or 2 for unsupported fields), then the operation. A
// failed ADD leaves nothing behind, including what a delegated IPAM plugin allocated.
#pragma once

#include <string>
#include <string_view>

#include "cni/delegate.h"
#include "cni/protocol.h"

namespace berth::cni {

struct Response {
  int exit_code = 0;
  std::string out;  // the result or error document; empty for DEL/CHECK/GC/STATUS success
};

/// `getenv` supplies BERTH_ROOT (the state root when the config has no "root").
Response Run(const Env& env, std::string_view stdin_data, Delegator& delegator,
             const Getenv& getenv);

}  // namespace berth::cni
