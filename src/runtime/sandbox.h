// Throwaway namespaces for the demo (and anything else that must not touch the machine): `body`
// runs in a child process with new network, mount and PID namespaces, private mounts and a
// tmpfs on /run, so whatever it builds, links and processes alike, vanishes when it returns.
#pragma once

#include <functional>

#include "core/error.h"

namespace berth::runtime {

/// Runs `body` as PID 1 of new namespaces (`lo` up) and returns its exit code. Must be called
/// while single-threaded; the caller is left in the new network and mount namespaces.
Result<int> RunInThrowawayNamespaces(const std::function<int()>& body);

}  // namespace berth::runtime
