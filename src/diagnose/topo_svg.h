// `berth topo --format svg`: the dot picture (TopoDot) laid out and drawn by Graphviz's library.
// libgvc is loaded with dlopen on first use, never linked: every other berth command would
// pay for loading it (and its plugins) at each exec. Without it, the error names the Debian
// package to install.
//
// Thread-compatible (Graphviz's context is not thread-safe; berth draws once per process).
#pragma once

#include <string>

#include "core/error.h"

namespace berth::diagnose {

inline constexpr char kGraphvizPackage[] = "libgvc6";

/// `dot` drawn as an SVG document (layout engine "dot").
Result<std::string> RenderSvg(const std::string& dot);

}  // namespace berth::diagnose
