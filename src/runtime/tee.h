// A foreground container's output, as Docker treats it: shown to the user and kept in the
// container's log, so `berth logs NAME` shows what `berth run NAME ...` printed (a detached
// container's monitor writes only the log: run.cc).
#pragma once

#include <sys/types.h>

#include "core/error.h"

namespace berth::runtime {

/// Copies what arrives on `out_pipe` to `out` and on `err_pipe` to `err`, each also to `log`
/// (-1: none), until both pipes end or `child` has exited (then what is already in them).
/// A user's end that stops taking output (a closed pipe: `| head -1`) stops being written;
/// the log still is.
Status TeeOutput(pid_t child, int out_pipe, int err_pipe, int out, int err, int log);

}  // namespace berth::runtime
