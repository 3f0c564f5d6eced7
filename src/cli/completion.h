// Shell completion (bash, zsh) and manual pages, generated from the CLI's command tree (what
// app.cc declares with CLI11), so they never drift from the real flags.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"

namespace berth::cli {

struct OptionInfo {
  std::vector<std::string> names;  // "-d", "--detach"
  bool takes_value = false;
  std::string description;
};

struct CommandInfo {
  std::string name;  // "berth", "run", "create"...
  std::string description;
  std::string footer;  // usage notes and examples
  std::vector<std::string> positionals;
  std::vector<OptionInfo> options;
  std::vector<CommandInfo> subcommands;
};

/// A bash script defining `_berth` and `complete -o default -F _berth berth`: verbs, their
/// subcommands and flags; files for option values and commands.
std::string BashCompletion(const CommandInfo& root);

/// A zsh completion function (`#compdef berth`): put it in $fpath as _berth, or source it
/// after compinit.
std::string ZshCompletion(const CommandInfo& root);

/// The troff page of `verb` (a path: {"network", "create"}; empty: berth(1) itself).
Result<std::string> ManPage(const CommandInfo& root, const std::vector<std::string>& verb);

/// berth.1, berth-run.1, berth-network-create.1 ... into `dir` (created).
Status WriteManPages(const CommandInfo& root, const std::string& dir);

}  // namespace berth::cli
