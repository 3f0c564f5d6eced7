// Executing a parsed template over a JSON document: Go's semantics for printing values,
// truth, variables and ranges, and the functions of template.h.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <optional>
#include <set>

#include "core/template.h"
#include "core/template_ast.h"

namespace berth::tmpl {

using nlohmann::json;

namespace {

// Work allowed per execution (nodes walked, loop turns): nested ranges over a document can
// otherwise spin for ages without printing anything.
constexpr uint64_t kMaxSteps = 2'000'000;
// Go's fmt refuses widths and precisions above this ("%!(BADWIDTH)").
constexpr int64_t kMaxWidth = 1'000'000;

const std::set<std::string>& Functions() {
  static const std::set<std::string> kNames = {
      "and", "eq", "ge",  "gt", "index", "join",   "json",    "le",    "len",   "lower",
      "lt",  "ne", "not", "or", "print", "printf", "println", "split", "title", "upper",
  };
  return kNames;
}

bool Truth(const json& v) {
  switch (v.type()) {
    case json::value_t::boolean:
      return v.get<bool>();
    case json::value_t::number_integer:
      return v.get<int64_t>() != 0;
    case json::value_t::number_unsigned:
      return v.get<uint64_t>() != 0;
    case json::value_t::number_float:
      return v.get<double>() != 0;
    case json::value_t::string:
      return !v.get_ref<const std::string&>().empty();
    case json::value_t::array:
    case json::value_t::object:
      return !v.empty();
    default:
      return false;
  }
}

// Go's names for the types JSON decodes into, for fmt's "%!d(string=x)" complaints.
std::string TypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::boolean:
      return "bool";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "int";
    case json::value_t::number_float:
      return "float64";
    case json::value_t::string:
      return "string";
    case json::value_t::array:
      return "[]interface {}";
    case json::value_t::object:
      return "map[string]interface {}";
    default:
      return "<nil>";
  }
}

std::string FormatFloat(double d) {
  // Go's %v: integral values below 1e21 without exponent, others the shortest form.
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
  if (d == std::trunc(d) && std::fabs(d) < 1e21) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", d);
    return buf;
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, r.ptr);
}

// fmt's %v: `top` is the value an action prints, where Go writes nil as "<no value>".
void PrintValue(const json& v, std::string& out, bool top) {
  switch (v.type()) {
    case json::value_t::null:
    case json::value_t::discarded:
      out += top ? "<no value>" : "<nil>";
      break;
    case json::value_t::string:
      out += v.get_ref<const std::string&>();
      break;
    case json::value_t::boolean:
      out += v.get<bool>() ? "true" : "false";
      break;
    case json::value_t::number_integer:
      out += std::to_string(v.get<int64_t>());
      break;
    case json::value_t::number_unsigned:
      out += std::to_string(v.get<uint64_t>());
      break;
    case json::value_t::number_float:
      out += FormatFloat(v.get<double>());
      break;
    case json::value_t::array: {
      out += '[';
      bool first = true;
      for (const json& e : v) {
        if (!first) out += ' ';
        first = false;
        PrintValue(e, out, false);
      }
      out += ']';
      break;
    }
    case json::value_t::object: {
      out += "map[";
      bool first = true;
      for (const auto& [k, e] : v.items()) {
        if (!first) out += ' ';
        first = false;
        out += k + ':';
        PrintValue(e, out, false);
      }
      out += ']';
      break;
    }
    default:
      break;  // binary: never in our documents
  }
}

std::string Str(const json& v) {
  std::string s;
  PrintValue(v, s, false);
  return s;
}

std::string Dump(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

size_t Runes(std::string_view s) {
  return std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; });
}

// The first `n` runes of s.
std::string_view RunePrefix(std::string_view s, size_t n) {
  size_t i = 0;
  for (; i < s.size(); ++i) {
    if ((s[i] & 0xC0) != 0x80 && n-- == 0) break;
  }
  return s.substr(0, i);
}

std::optional<int64_t> AsInt(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (d == std::trunc(d) && std::fabs(d) < 9e18) return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

// One printf directive: flags, width, precision, verb, applied to one argument.
struct Spec {
  std::string flags;
  int64_t width = -1;
  int64_t prec = -1;
  char verb = 'v';
};

std::string Pad(std::string s, const Spec& sp) {
  size_t n = Runes(s);
  if (sp.width < 0 || static_cast<size_t>(sp.width) <= n) return s;
  std::string fill(static_cast<size_t>(sp.width) - n, ' ');
  return sp.flags.find('-') != std::string::npos ? s + fill : fill + s;
}

std::string CFormat(const Spec& sp, const char* length, char verb, auto value) {
  std::string f = "%" + sp.flags;
  if (sp.width >= 0) f += std::to_string(sp.width);
  if (sp.prec >= 0) f += "." + std::to_string(sp.prec);
  f += length;
  f += verb;
  int n = std::snprintf(nullptr, 0, f.c_str(), value);
  if (n < 0) return "%!(BADFORMAT)";
  std::string out(static_cast<size_t>(n) + 1, '\0');
  std::snprintf(out.data(), out.size(), f.c_str(), value);
  out.pop_back();
  return out;
}

std::string FormatOne(const Spec& sp, const json& v) {
  auto bad = [&] { return std::string("%!") + sp.verb + "(" + TypeName(v) + "=" + Str(v) + ")"; };
  switch (sp.verb) {
    case 'v':
    case 's': {
      if (sp.verb == 's' && (v.is_number() || v.is_boolean())) return bad();
      std::string s = Str(v);
      if (sp.prec >= 0) s = std::string(RunePrefix(s, static_cast<size_t>(sp.prec)));
      return Pad(std::move(s), sp);
    }
    case 'q':
      if (!v.is_string()) return bad();
      return Pad(Dump(v), sp);
    case 't':
      if (!v.is_boolean()) return bad();
      return Pad(v.get<bool>() ? "true" : "false", sp);
    case 'd':
    case 'x':
    case 'X':
    case 'o':
    case 'c': {
      if ((sp.verb == 'x' || sp.verb == 'X') && v.is_string()) {
        std::string out;
        for (unsigned char c : v.get_ref<const std::string&>()) {
          char buf[3];
          std::snprintf(buf, sizeof buf, sp.verb == 'x' ? "%02x" : "%02X", c);
          out += buf;
        }
        return Pad(out, sp);
      }
      auto i = AsInt(v);
      if (!i) return bad();
      if (sp.verb == 'c') {
        std::string s;
        if (*i >= 0 && *i < 0x80)
          s += static_cast<char>(*i);
        else
          return bad();
        return Pad(s, sp);
      }
      return CFormat(sp, "ll", sp.verb == 'd' ? 'd' : sp.verb, static_cast<long long>(*i));
    }
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G':
      if (!v.is_number()) return bad();
      return CFormat(sp, "", sp.verb, v.get<double>());
    default:
      return bad();
  }
}

std::string Sprintf(std::string_view f, const std::vector<json>& args) {
  std::string out;
  size_t next = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out += f[i];
      continue;
    }
    Spec sp;
    ++i;
    while (i < f.size() && std::string_view("-+# 0").find(f[i]) != std::string_view::npos) {
      if (sp.flags.find(f[i]) == std::string::npos) sp.flags += f[i];
      ++i;
    }
    auto number = [&](int64_t& n) {
      if (i >= f.size() || !std::isdigit(static_cast<unsigned char>(f[i]))) return;
      n = 0;
      while (i < f.size() && std::isdigit(static_cast<unsigned char>(f[i]))) {
        n = std::min<int64_t>(n * 10 + (f[i] - '0'), kMaxWidth + 1);
        ++i;
      }
    };
    number(sp.width);
    if (i < f.size() && f[i] == '.') {
      ++i;
      sp.prec = 0;
      number(sp.prec);
    }
    if (i >= f.size()) {
      out += "%!(NOVERB)";
      break;
    }
    sp.verb = f[i];
    if (sp.verb == '%') {
      out += '%';
      continue;
    }
    // As Go: complain about the width or precision, then format without it.
    if (sp.width > kMaxWidth) {
      out += "%!(BADWIDTH)";
      sp.width = -1;
    }
    if (sp.prec > kMaxWidth) {
      out += "%!(BADPREC)";
      sp.prec = -1;
    }
    if (next >= args.size()) {
      out += std::string("%!") + sp.verb + "(MISSING)";
      continue;
    }
    out += FormatOne(sp, args[next++]);
  }
  if (next < args.size()) {
    out += "%!(EXTRA ";
    for (size_t i = next; i < args.size(); ++i) {
      if (i > next) out += ", ";
      out += TypeName(args[i]) + "=" + Str(args[i]);
    }
    out += ")";
  }
  return out;
}

// fmt.Sprint: a space between operands when neither is a string.
std::string Sprint(const std::vector<json>& args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0 && !args[i].is_string() && !args[i - 1].is_string()) out += ' ';
    out += Str(args[i]);
  }
  return out;
}

// Object keys are compared exactly, then ignoring case and underscores (template.h).
std::string Fold(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != '_') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

class Exec {
 public:
  Exec(const std::string& src, const json& root) : src_(src) { vars_.push_back({"$", root}); }

  Status Walk(const std::vector<Node>& nodes, const json& dot) {
    size_t scope = vars_.size();
    for (const Node& n : nodes) {
      BERTH_TRY(Step(n.pos));
      switch (n.kind) {
        case Node::kText:
          BERTH_TRY(Emit(n.text, n.pos));
          break;
        case Node::kAction: {
          BERTH_ASSIGN_OR_RETURN(json v, Pipe(n.pipe, dot, true));
          if (n.pipe.vars.empty()) {
            std::string s;
            PrintValue(v, s, true);
            BERTH_TRY(Emit(s, n.pos));
          }
          break;
        }
        case Node::kIf:
        case Node::kWith: {
          size_t mark = vars_.size();
          BERTH_ASSIGN_OR_RETURN(json v, Pipe(n.pipe, dot, true));
          if (Truth(v)) {
            BERTH_TRY(Walk(n.body, n.kind == Node::kWith ? v : dot));
          } else {
            BERTH_TRY(Walk(n.else_body, dot));
          }
          vars_.resize(mark);
          break;
        }
        case Node::kRange:
          BERTH_TRY(Range(n, dot));
          break;
        case Node::kList:
          BERTH_TRY(Walk(n.body, dot));
          break;
      }
    }
    vars_.resize(scope);
    return Ok();
  }

  std::string& out() { return out_; }

 private:
  Error Fail(size_t pos, const std::string& m) const { return Error::Invalid(Where(src_, pos, m)); }

  Status Step(size_t pos) {
    if (++steps_ > kMaxSteps) return Fail(pos, "template does too much work");
    return Ok();
  }

  Status Emit(std::string_view s, size_t pos) {
    if (out_.size() + s.size() > kMaxOutput) return Fail(pos, "output too large");
    out_ += s;
    return Ok();
  }

  Status Range(const Node& n, const json& dot) {
    BERTH_ASSIGN_OR_RETURN(json v, Pipe(n.pipe, dot, false));
    if (!v.is_array() && !v.is_object() && !v.is_null()) {
      return Fail(n.pos, "range can't iterate over " + Str(v));
    }
    if (v.empty()) return Walk(n.else_body, dot);
    size_t mark = vars_.size();
    const auto& names = n.pipe.vars;
    for (size_t i = 0; i < names.size(); ++i) vars_.push_back({names[i], nullptr});
    size_t index = 0;
    for (auto it = v.begin(); it != v.end(); ++it, ++index) {
      BERTH_TRY(Step(n.pos));
      json key = v.is_object() ? json(it.key()) : json(index);
      if (names.size() == 1) vars_[mark].second = *it;
      if (names.size() == 2) {
        vars_[mark].second = key;
        vars_[mark + 1].second = *it;
      }
      BERTH_TRY(Walk(n.body, *it));
    }
    vars_.resize(mark);
    return Ok();
  }

  // Evaluates a pipeline; `bind` declares or assigns its variables (range binds its own).
  Result<json> Pipe(const Pipeline& p, const json& dot, bool bind) {
    std::optional<json> value;
    for (const Command& c : p.cmds) {
      BERTH_ASSIGN_OR_RETURN(json v, Cmd(c, dot, value));
      value = std::move(v);
    }
    if (bind && !p.vars.empty()) {
      if (p.assign) {
        auto* slot = Var(p.vars[0]);
        if (!slot) return Fail(p.pos, "undefined variable: " + p.vars[0]);
        *slot = *value;
      } else {
        vars_.push_back({p.vars[0], *value});
      }
    }
    return std::move(*value);
  }

  json* Var(const std::string& name) {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
      if (it->first == name) return &it->second;
    }
    return nullptr;
  }

  Result<json> Cmd(const Command& c, const json& dot, const std::optional<json>& piped) {
    const Operand& first = c.args[0];
    if (first.kind == Operand::kFunction) {
      std::vector<json> args;
      // `and`/`or` stop at the first argument that decides (Go 1.18), so
      // {{if and .X (index .X 0)}} never indexes a missing .X.
      bool lazy = first.text == "and" || first.text == "or";
      for (size_t i = 1; i < c.args.size(); ++i) {
        BERTH_ASSIGN_OR_RETURN(json a, Eval(c.args[i], dot));
        bool decided = lazy && Truth(a) == (first.text == "or");
        args.push_back(std::move(a));
        if (decided) return args.back();
      }
      if (piped) args.push_back(*piped);
      return Call(first.text, args, first.pos);
    }
    if (c.args.size() > 1 || piped) {
      return Fail(first.pos, "can't give argument to non-function");
    }
    if (first.kind == Operand::kNil) return Fail(first.pos, "nil is not a command");
    return Eval(first, dot);
  }

  Result<json> Eval(const Operand& o, const json& dot) {
    switch (o.kind) {
      case Operand::kField:
        return Fields(dot, o);
      case Operand::kVariable: {
        json* v = Var(o.text);
        if (!v) return Fail(o.pos, "undefined variable: " + o.text);
        return Fields(*v, o);
      }
      case Operand::kString:
        return json(o.text);
      case Operand::kInt:
        return json(o.int_value);
      case Operand::kFloat:
        return json(o.float_value);
      case Operand::kBool:
        return json(o.bool_value);
      case Operand::kNil:
        return json(nullptr);
      case Operand::kFunction:
        return Call(o.text, {}, o.pos);
      case Operand::kPipeline: {
        BERTH_ASSIGN_OR_RETURN(json v, Pipe(*o.pipe, dot, false));
        return Fields(v, o);
      }
    }
    return json(nullptr);
  }

  Result<json> Fields(const json& base, const Operand& o) {
    const json* at = &base;
    for (const std::string& f : o.fields) {
      if (at->is_null()) return json(nullptr);
      if (!at->is_object()) {
        return Fail(o.pos, "can't evaluate field " + f + " in type " + TypeName(*at));
      }
      auto it = at->find(f);
      if (it == at->end()) {
        std::string folded = Fold(f);
        for (auto k = at->begin(); k != at->end(); ++k) {
          if (Fold(k.key()) == folded) {
            it = k;
            break;
          }
        }
        if (it == at->end()) return json(nullptr);
      }
      at = &*it;
    }
    return *at;
  }

  Result<json> Call(const std::string& fn, const std::vector<json>& a, size_t pos) {
    auto want = [&](size_t n) -> Status {
      if (a.size() == n) return Ok();
      return Fail(pos, "wrong number of args for " + fn + ": want " + std::to_string(n) + " got " +
                           std::to_string(a.size()));
    };
    auto at_least = [&](size_t n) -> Status {
      if (a.size() >= n) return Ok();
      return Fail(pos, "wrong number of args for " + fn + ": want at least " + std::to_string(n) +
                           " got " + std::to_string(a.size()));
    };
    if (fn == "json") {
      BERTH_TRY(want(1));
      return json(Dump(a[0]));
    }
    if (fn == "print") return json(Sprint(a));
    if (fn == "println") {
      std::string s;
      for (size_t i = 0; i < a.size(); ++i) s += (i ? " " : "") + Str(a[i]);
      return json(s + "\n");
    }
    if (fn == "printf") {
      BERTH_TRY(at_least(1));
      if (!a[0].is_string()) return Fail(pos, "printf: format must be a string");
      return json(
          Sprintf(a[0].get_ref<const std::string&>(), std::vector<json>(a.begin() + 1, a.end())));
    }
    if (fn == "len") {
      BERTH_TRY(want(1));
      if (a[0].is_string()) return json(a[0].get_ref<const std::string&>().size());
      if (a[0].is_array() || a[0].is_object()) return json(a[0].size());
      return Fail(pos, "len of type " + TypeName(a[0]));
    }
    if (fn == "index") return Index(a, pos);
    if (fn == "upper" || fn == "lower" || fn == "title") {
      BERTH_TRY(want(1));
      std::string s = Str(a[0]);
      bool word_start = true;
      for (char& c : s) {
        unsigned char u = static_cast<unsigned char>(c);
        if (fn == "upper" || (fn == "title" && word_start)) c = static_cast<char>(std::toupper(u));
        if (fn == "lower") c = static_cast<char>(std::tolower(u));
        word_start = std::isspace(u) != 0;
      }
      return json(s);
    }
    if (fn == "join") {
      BERTH_TRY(want(2));
      if (!a[0].is_array() && !a[0].is_null()) return Fail(pos, "join: not a list");
      std::string s, sep = Str(a[1]);
      bool first = true;
      for (const json& e : a[0]) {
        s += (first ? "" : sep) + Str(e);
        first = false;
      }
      return json(s);
    }
    if (fn == "split") {
      BERTH_TRY(want(2));
      std::string s = Str(a[0]), sep = Str(a[1]);
      json parts = json::array();
      if (sep.empty()) {
        for (char c : s) parts.push_back(std::string(1, c));
        return parts;
      }
      size_t from = 0;
      for (size_t at; (at = s.find(sep, from)) != std::string::npos; from = at + sep.size()) {
        parts.push_back(s.substr(from, at - from));
      }
      parts.push_back(s.substr(from));
      return parts;
    }
    if (fn == "not") {
      BERTH_TRY(want(1));
      return json(!Truth(a[0]));
    }
    if (fn == "and" || fn == "or") {
      BERTH_TRY(at_least(1));
      for (const json& v : a) {
        if (Truth(v) == (fn == "or")) return v;
      }
      return a.back();
    }
    if (fn == "eq") {
      BERTH_TRY(at_least(2));
      for (size_t i = 1; i < a.size(); ++i) {
        if (a[0] == a[i]) return json(true);
      }
      return json(false);
    }
    if (fn == "ne") {
      BERTH_TRY(want(2));
      return json(a[0] != a[1]);
    }
    // lt le gt ge: numbers with numbers, strings with strings.
    BERTH_TRY(want(2));
    bool comparable =
        (a[0].is_number() && a[1].is_number()) || (a[0].is_string() && a[1].is_string());
    if (!comparable) return Fail(pos, "incompatible types for comparison");
    if (fn == "lt") return json(a[0] < a[1]);
    if (fn == "le") return json(a[0] <= a[1]);
    if (fn == "gt") return json(a[0] > a[1]);
    return json(a[0] >= a[1]);
  }

  Result<json> Index(const std::vector<json>& a, size_t pos) {
    if (a.empty()) return Fail(pos, "wrong number of args for index: want at least 1 got 0");
    json v = a[0];
    for (size_t i = 1; i < a.size(); ++i) {
      const json& k = a[i];
      if (v.is_object()) {
        if (!k.is_string()) return Fail(pos, "index: cannot index a map with " + TypeName(k));
        auto it = v.find(k.get_ref<const std::string&>());
        v = it == v.end() ? json(nullptr) : json(*it);
      } else if (v.is_array()) {
        auto n = AsInt(k);
        if (!n) return Fail(pos, "index: cannot index a list with " + TypeName(k));
        if (*n < 0 || static_cast<size_t>(*n) >= v.size()) {
          return Fail(pos, "index out of range: " + std::to_string(*n));
        }
        v = json(v[static_cast<size_t>(*n)]);
      } else if (v.is_null()) {
        return Fail(pos, "index of untyped nil");
      } else {
        return Fail(pos, "can't index item of type " + TypeName(v));
      }
    }
    return v;
  }

  const std::string& src_;
  std::string out_;
  std::vector<std::pair<std::string, json>> vars_;
  uint64_t steps_ = 0;
};

}  // namespace

bool IsFunction(const std::string& name) { return Functions().count(name) > 0; }

Result<std::string> Template::Execute(const json& data) const {
  Exec exec(root_->text, data);
  try {
    BERTH_TRY(exec.Walk(root_->body, data));
  } catch (const json::exception& e) {  // a bug of ours: never let it escape
    return Error::Internal(std::string("template: ") + e.what());
  }
  return std::move(exec.out());
}

}  // namespace berth::tmpl
