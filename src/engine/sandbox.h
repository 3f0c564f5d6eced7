// Throwaway namespaces for the demo (and anything else that must not touch the machine):
// the calling process moves into a new network and mount namespace, with private mounts and
// a tmpfs on /run, so whatever it builds vanishes with it.
#pragma once

#include "core/error.h"

namespace berth::engine {

/// Must be called while single-threaded. Leaves `lo` up in the new network namespace.
Status EnterThrowawayNamespaces();

}  // namespace berth::engine
