// The parsed form of a template (core/template.h): private to the template's own files.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace berth::tmpl {

struct Pipeline;

/// One word of a command: `.A.B`, `$x.A`, "lit", 3, true, nil, a function's name, or
/// `(pipeline).A`. `fields` is the chain applied to the base value.
struct Operand {
  enum Kind { kField, kVariable, kString, kInt, kFloat, kBool, kNil, kFunction, kPipeline };
  Kind kind = kField;
  size_t pos = 0;
  std::string text;  // kVariable: "$" or "$x"; kString: the value; kFunction: the name
  std::vector<std::string> fields;
  int64_t int_value = 0;
  double float_value = 0;
  bool bool_value = false;
  std::shared_ptr<const Pipeline> pipe;  // kPipeline
};

/// `fn arg...` or a single value.
struct Command {
  size_t pos = 0;
  std::vector<Operand> args;
};

/// `$x := cmd | cmd`, or for range `$i, $e := cmd`.
struct Pipeline {
  size_t pos = 0;
  std::vector<std::string> vars;  // declared (or assigned) variables
  bool assign = false;            // `$x = ...`: sets an existing variable
  std::vector<Command> cmds;
};

struct Node {
  enum Kind { kList, kText, kAction, kIf, kRange, kWith };
  Kind kind = kList;
  size_t pos = 0;
  std::string text;             // kText: the text; the root kList: the whole source (for positions)
  Pipeline pipe;                // kAction, kIf, kRange, kWith
  std::vector<Node> body;       // kList: the nodes; control nodes: the taken branch
  std::vector<Node> else_body;  // control nodes: {{else}}
};

/// "template: LINE:COL: message" for a byte offset into `source`.
std::string Where(const std::string& source, size_t pos, const std::string& message);

/// Whether `name` is a function templates may call.
bool IsFunction(const std::string& name);

}  // namespace berth::tmpl
