// A foreground container's output, as Docker treats it: shown to the user and kept in the
// container's log, so `berth logs NAME` shows what `berth run NAME ...` printed; a detached
// container's monitor copies its output to the log alone (run.cc).
#pragma once

#include <sys/types.h>

#include "core/error.h"
#include "runtime/container_log.h"

namespace berth::runtime {

/// Copies what arrives on `out_pipe` to `out` and on `err_pipe` to `err` (-1: no such pipe, or
/// nowhere to copy to), each also to `log` (nullptr: none), until the pipes end or `child` has
/// exited (then what is already in them). A user's end that stops taking output (a closed
/// pipe: `| head -1`) stops being written; the log still is.
Status TeeOutput(pid_t child, int out_pipe, int err_pipe, int out, int err, LogWriter* log);

}  // namespace berth::runtime
