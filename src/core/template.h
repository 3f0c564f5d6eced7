// Go text/template, the subset people write after `--format` (docker/podman habits), evaluated
// over a JSON document. Parsed once into a tree, then executed once per object printed.
//
// Supported:
//   text; {{/* comments */}}; trim markers {{- and -}} (a space must follow/precede the dash)
//   {{.}}  {{.A.B}}  {{$}}  {{$x.A}}  {{(pipeline).A}}
//   literals: "strings" with Go escapes, `raw strings`, integers, floats, true, false, nil
//   pipelines with |: {{.Names | upper}} passes the left value as the last argument
//   {{$x := pipeline}}; {{if}} / {{else if}} / {{else}} / {{end}}; {{with}}; {{range}} with
//   {{else}}, {{range $e := .X}} and {{range $i, $e := .X}} (objects: sorted keys, like Go maps)
//   functions: json, index, len, print, printf (%s %d %v %q %f %g %x %t %%, flags, width,
//   precision), println, upper, lower, title, join, split, eq, ne, lt, le, gt, ge, not, and, or
//
// Field lookup: exact key first (case-sensitive, as Go); when absent, a key equal to the field
// ignoring case and underscores, so berth's snake_case keys answer Docker's spellings too
// (`.ExitCode` finds "exit_code", `.Name` finds "name"). A missing field, a null value, or a
// path through one prints "<no value>", as Go prints nil (Go would fail on the path through a
// nil map; a marker is kinder to scripts). `json` of a missing value is "null".
//
// Pure: no I/O. Output is capped (kMaxOutput) so a hostile template cannot exhaust memory.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/error.h"

namespace berth::tmpl {

struct Node;  // the parsed tree (template.cc)

/// Output larger than this fails execution ("output too large").
inline constexpr size_t kMaxOutput = 4 << 20;

class Template {
 public:
  /// Parses `text`; errors name the line and column ("template: 1:12: unclosed action").
  static Result<Template> Parse(std::string_view text);

  /// Runs the template with `.` = `data`. Errors (wrong argument types, index out of range)
  /// name the position of the action that failed.
  Result<std::string> Execute(const nlohmann::json& data) const;

  /// A document shaped like the fields the template reads, each leaf holding the header text
  /// for that field: `header(last field name)`. Executing the template over it prints the
  /// header row of a `table` format.
  nlohmann::json HeaderDocument(
      const std::function<std::string(const std::string& field)>& header) const;

 private:
  std::shared_ptr<const Node> root_;
};

/// A list format as docker's `ps`/`network ls` take it: an optional "table" prefix (print a
/// header row, align the tab-separated columns), and "\t" / "\n" typed as two characters
/// meaning tab / newline.
struct ListFormat {
  bool table = false;
  Template row;
};
Result<ListFormat> ParseListFormat(std::string_view format);

/// Aligns tab-separated cells the way docker's tabwriter does (minimum width 10, padding 3):
/// every cell followed by a tab is padded to its column's widest cell plus 3; the last cell
/// of a line is left as is.
std::string AlignColumns(std::string_view text);

}  // namespace berth::tmpl
