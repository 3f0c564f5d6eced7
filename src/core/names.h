// Validation of every user-supplied name before it reaches the store, the kernel or a rule.
// Names become DNS labels, file names and nftables set elements, so the accepted alphabet is
// small on purpose: nothing that a shell, nft or a resolver would read as syntax.
#pragma once

#include <string_view>

#include "core/error.h"

namespace berth {

/// Container and network names: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 63 bytes (one DNS label).
/// `kind` is "container" or "network" and appears in the message.
Status ValidateName(std::string_view kind, std::string_view name);

/// A Linux interface name we create: 1-15 bytes of [a-zA-Z0-9_.-], not "." or "..".
Status ValidateIfName(std::string_view name);

/// A hostname: dot-separated labels of [a-zA-Z0-9-], each 1-63 bytes, 253 bytes in all.
Status ValidateHostname(std::string_view name);

}  // namespace berth
