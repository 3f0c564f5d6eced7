// Lexing and parsing of Go templates into the tree of template_ast.h. The lexer works on the
// whole source (not on text split at "{{" and "}}") so a "}}" inside a string literal stays in
// the string, as in Go.
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <optional>

#include "core/template.h"
#include "core/template_ast.h"

namespace berth::tmpl {

namespace {

// Deeper nesting of blocks or parentheses than this is refused (the parser recurses).
constexpr int kMaxDepth = 100;

enum class Tok {
  kText,
  kLeft,
  kRight,
  kField,
  kVariable,
  kDot,
  kString,
  kNumber,
  kIdent,
  kPipe,
  kLParen,
  kRParen,
  kComma,
  kDeclare,
  kAssign,
  kEof,
};

struct Token {
  Tok kind;
  size_t pos;
  std::string text;                 // text, string value, number spelling, identifier, $name
  std::vector<std::string> fields;  // kField / kVariable: the .A.B chain
  bool space_before = false;
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;  // UTF-8 letters, as Go allows
}
bool IsIdentStart(char c) { return IsIdentChar(c) && !std::isdigit(static_cast<unsigned char>(c)); }

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Lexer {
 public:
  explicit Lexer(const std::string& src) : s_(src) {}

  Result<std::vector<Token>> Run() {
    size_t i = 0;
    while (true) {
      size_t open = s_.find("{{", i);
      std::string text = s_.substr(i, open == std::string::npos ? std::string::npos : open - i);
      // "{{- " trims the text before; "{{-3}}" is the number -3.
      bool trim_left = open != std::string::npos && open + 3 < s_.size() && s_[open + 2] == '-' &&
                       IsSpace(s_[open + 3]);
      if (trim_left) {
        while (!text.empty() && IsSpace(text.back())) text.pop_back();
      }
      if (!text.empty()) toks_.push_back({Tok::kText, i, std::move(text), {}, false});
      if (open == std::string::npos) break;
      toks_.push_back({Tok::kLeft, open, "", {}, false});
      auto next = LexAction(open, open + (trim_left ? 3 : 2));
      if (!next.ok()) return std::move(next).error();
      i = *next;
    }
    toks_.push_back({Tok::kEof, s_.size(), "", {}, false});
    return std::move(toks_);
  }

 private:
  Error Fail(size_t pos, const std::string& m) { return Error::Invalid(Where(s_, pos, m)); }

  // After the closing delimiter at j ("}}" or " -}}"): where the following text starts.
  size_t Close(size_t j, bool trim) {
    toks_.push_back({Tok::kRight, j, "", {}, false});
    j += trim ? 3 : 2;
    if (trim) {
      while (j < s_.size() && IsSpace(s_[j])) ++j;
    }
    return j;
  }

  // Lexes the inside of the action opened at `open`, from j; returns the position after it.
  Result<size_t> LexAction(size_t open, size_t j) {
    bool space = true;
    while (j < s_.size() && IsSpace(s_[j])) ++j;
    if (s_.compare(j, 2, "/*") == 0) {  // a comment fills the whole action
      size_t end = s_.find("*/", j + 2);
      if (end == std::string::npos) return Fail(j, "unclosed comment");
      j = end + 2;
      size_t k = j;
      while (k < s_.size() && IsSpace(s_[k])) ++k;
      toks_.pop_back();  // the comment leaves no action behind
      if (k > j && s_.compare(k, 3, "-}}") == 0) {
        for (k += 3; k < s_.size() && IsSpace(s_[k]);) ++k;
        return k;
      }
      if (s_.compare(j, 2, "}}") == 0) return j + 2;
      return Fail(j, "comment ends before closing delimiter");
    }
    while (true) {
      if (j >= s_.size()) return Fail(open, "unclosed action");
      if (space && s_.compare(j, 3, "-}}") == 0) return Close(j, true);
      if (s_.compare(j, 2, "}}") == 0) return Close(j, false);
      char c = s_[j];
      if (IsSpace(c)) {
        space = true;
        ++j;
        continue;
      }
      Token t{Tok::kEof, j, "", {}, space};
      space = false;
      if (c == '"' || c == '`') {
        BERTH_ASSIGN_OR_RETURN(j, LexString(j, t));
      } else if (std::isdigit(static_cast<unsigned char>(c)) ||
                 ((c == '-' || c == '+' || c == '.') && j + 1 < s_.size() &&
                  std::isdigit(static_cast<unsigned char>(s_[j + 1])))) {
        size_t k = j + 1;
        while (k < s_.size() &&
               (IsIdentChar(s_[k]) || s_[k] == '.' ||
                ((s_[k] == '+' || s_[k] == '-') && (s_[k - 1] == 'e' || s_[k - 1] == 'E')))) {
          ++k;
        }
        t.kind = Tok::kNumber;
        t.text = s_.substr(j, k - j);
        j = k;
      } else if (c == '.' || c == '$') {
        size_t k = j;
        if (c == '$') {
          ++k;
          while (k < s_.size() && IsIdentChar(s_[k])) ++k;
          t.text = s_.substr(j, k - j);
        }
        while (k + 1 < s_.size() && s_[k] == '.' && IsIdentStart(s_[k + 1])) {
          size_t f = ++k;
          while (k < s_.size() && IsIdentChar(s_[k])) ++k;
          t.fields.push_back(s_.substr(f, k - f));
        }
        if (c == '.' && t.fields.empty()) {
          if (j + 1 < s_.size() && s_[j + 1] == '.') return Fail(j, "bad field '..'");
          t.kind = Tok::kDot;
          k = j + 1;
        } else {
          t.kind = c == '.' ? Tok::kField : Tok::kVariable;
        }
        if (k < s_.size() && s_[k] == '.') return Fail(k, "bad field name after '.'");
        j = k;
      } else if (IsIdentStart(c)) {
        size_t k = j;
        while (k < s_.size() && IsIdentChar(s_[k])) ++k;
        t.kind = Tok::kIdent;
        t.text = s_.substr(j, k - j);
        j = k;
      } else if (c == ':' && s_.compare(j, 2, ":=") == 0) {
        t.kind = Tok::kDeclare;
        j += 2;
      } else {
        switch (c) {
          case '|':
            t.kind = Tok::kPipe;
            break;
          case '(':
            t.kind = Tok::kLParen;
            break;
          case ')':
            t.kind = Tok::kRParen;
            break;
          case ',':
            t.kind = Tok::kComma;
            break;
          case '=':
            t.kind = Tok::kAssign;
            break;
          default:
            return Fail(j, std::string("unexpected character '") + c + "' in action");
        }
        ++j;
      }
      toks_.push_back(std::move(t));
    }
  }

  // A "quoted" (Go escapes) or `raw` string starting at j.
  Result<size_t> LexString(size_t j, Token& t) {
    t.kind = Tok::kString;
    char q = s_[j];
    size_t k = j + 1;
    if (q == '`') {
      size_t end = s_.find('`', k);
      if (end == std::string::npos) return Fail(j, "unterminated raw string");
      t.text = s_.substr(k, end - k);
      return end + 1;
    }
    while (true) {
      if (k >= s_.size() || s_[k] == '\n') return Fail(j, "unterminated quoted string");
      char c = s_[k++];
      if (c == '"') return k;
      if (c != '\\') {
        t.text += c;
        continue;
      }
      if (k >= s_.size()) return Fail(j, "unterminated quoted string");
      char e = s_[k++];
      switch (e) {
        case 'n':
          t.text += '\n';
          break;
        case 't':
          t.text += '\t';
          break;
        case 'r':
          t.text += '\r';
          break;
        case 'a':
          t.text += '\a';
          break;
        case 'b':
          t.text += '\b';
          break;
        case 'f':
          t.text += '\f';
          break;
        case 'v':
          t.text += '\v';
          break;
        case '\\':
        case '"':
        case '\'':
          t.text += e;
          break;
        case 'x':
        case 'u':
        case 'U': {
          size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t v = 0;
          if (k + n > s_.size() ||
              std::from_chars(s_.data() + k, s_.data() + k + n, v, 16).ptr != s_.data() + k + n) {
            return Fail(k - 2, "bad escape in string");
          }
          k += n;
          if (e == 'x') {
            t.text += static_cast<char>(v);
          } else if (v > 0x10FFFF || (v >= 0xD800 && v < 0xE000)) {
            return Fail(k - n - 2, "escape is not a valid code point");
          } else {
            AppendUtf8(t.text, v);
          }
          break;
        }
        default:
          if (e >= '0' && e <= '7' && k + 2 <= s_.size()) {
            unsigned v = 0;
            auto r = std::from_chars(s_.data() + k - 1, s_.data() + k + 2, v, 8);
            if (r.ptr == s_.data() + k + 2 && v < 256) {
              t.text += static_cast<char>(v);
              k += 2;
              break;
            }
          }
          return Fail(k - 2, "bad escape in string");
      }
    }
  }

  const std::string& s_;
  std::vector<Token> toks_;
};

class Parser {
 public:
  Parser(const std::string& src, std::vector<Token> toks) : s_(src), t_(std::move(toks)) {}

  Result<Node> Run() {
    Node root;
    root.text = s_;
    BERTH_ASSIGN_OR_RETURN(End end, ParseList(root.body));
    if (end.word != "") return Fail(end.pos, "unexpected {{" + end.word + "}}");
    return root;
  }

 private:
  // What ended a list: "" (end of input), "end", "else", or "else if"/"else with".
  struct End {
    std::string word;
    size_t pos;
  };

  Error Fail(size_t pos, const std::string& m) { return Error::Invalid(Where(s_, pos, m)); }
  const Token& Peek(size_t ahead = 0) const { return t_[std::min(i_ + ahead, t_.size() - 1)]; }
  const Token& Next() { return t_[std::min(i_++, t_.size() - 1)]; }
  bool IsWord(const Token& t, const char* w) const { return t.kind == Tok::kIdent && t.text == w; }

  Status ExpectRight() {
    const Token& t = Next();
    if (t.kind == Tok::kRight) return Ok();
    if (t.kind == Tok::kEof) return Fail(t.pos, "unclosed action");
    return Fail(t.pos, "unexpected " + Describe(t) + " in action (expected }})");
  }

  static std::string Describe(const Token& t) {
    switch (t.kind) {
      case Tok::kString:
        return "string \"" + t.text + "\"";
      case Tok::kNumber:
      case Tok::kIdent:
        return "<" + t.text + ">";
      case Tok::kField:
        return "field";
      case Tok::kVariable:
        return "variable " + t.text;
      case Tok::kRParen:
        return "')'";
      case Tok::kLParen:
        return "'('";
      case Tok::kPipe:
        return "'|'";
      case Tok::kComma:
        return "','";
      case Tok::kDeclare:
        return "':='";
      case Tok::kAssign:
        return "'='";
      case Tok::kRight:
        return "}}";
      case Tok::kEof:
        return "end of input";
      default:
        return "token";
    }
  }

  Result<End> ParseList(std::vector<Node>& out) {
    if (++depth_ > kMaxDepth) return Fail(Peek().pos, "blocks nested too deeply");
    while (true) {
      const Token& t = Next();
      if (t.kind == Tok::kEof) {
        --depth_;
        return End{"", t.pos};
      }
      if (t.kind == Tok::kText) {
        Node n;
        n.kind = Node::kText;
        n.pos = t.pos;
        n.text = t.text;
        out.push_back(std::move(n));
        continue;
      }
      // t is "{{"
      const Token& w = Peek();
      if (IsWord(w, "end")) {
        ++i_;
        BERTH_TRY(ExpectRight());
        --depth_;
        return End{"end", w.pos};
      }
      if (IsWord(w, "else")) {
        ++i_;
        --depth_;
        if (IsWord(Peek(), "if") || IsWord(Peek(), "with"))
          return End{"else " + Next().text, w.pos};
        BERTH_TRY(ExpectRight());
        return End{"else", w.pos};
      }
      if (IsWord(w, "if") || IsWord(w, "range") || IsWord(w, "with")) {
        ++i_;
        Node n;
        BERTH_TRY(ParseControl(w.text, w.pos, n));
        out.push_back(std::move(n));
        continue;
      }
      for (const char* kw : {"define", "template", "block", "break", "continue"}) {
        if (IsWord(w, kw)) return Fail(w.pos, std::string("{{") + kw + "}} is not supported");
      }
      Node n;
      n.kind = Node::kAction;
      n.pos = w.pos;
      BERTH_ASSIGN_OR_RETURN(n.pipe, ParsePipeline(true, false));
      BERTH_TRY(ExpectRight());
      out.push_back(std::move(n));
    }
  }

  // After "{{if" / "{{range" / "{{with" (or "{{else if"): the pipeline, bodies and {{end}}.
  Status ParseControl(const std::string& word, size_t pos, Node& n) {
    n.kind = word == "if" ? Node::kIf : word == "range" ? Node::kRange : Node::kWith;
    n.pos = pos;
    BERTH_ASSIGN_OR_RETURN(n.pipe, ParsePipeline(true, word == "range"));
    BERTH_TRY(ExpectRight());
    BERTH_ASSIGN_OR_RETURN(End end, ParseList(n.body));
    if (end.word.starts_with("else ")) {
      std::string chained = end.word.substr(5);
      if (chained != word) return Fail(end.pos, "{{else " + chained + "}} inside {{" + word + "}}");
      Node inner;
      BERTH_TRY(ParseControl(chained, end.pos, inner));  // consumes the shared {{end}}
      n.else_body.push_back(std::move(inner));
      return Ok();
    }
    if (end.word == "else") {
      BERTH_ASSIGN_OR_RETURN(end, ParseList(n.else_body));
      if (end.word.starts_with("else")) return Fail(end.pos, "{{else}} after {{else}}");
    }
    if (end.word != "end") return Fail(pos, "missing {{end}} for {{" + word + "}}");
    return Ok();
  }

  Result<Pipeline> ParsePipeline(bool allow_decl, bool range) {
    Pipeline p;
    p.pos = Peek().pos;
    if (allow_decl && Peek().kind == Tok::kVariable && Peek().fields.empty()) {
      Tok after = Peek(1).kind;
      if (range && after == Tok::kComma && Peek(2).kind == Tok::kVariable &&
          Peek(2).fields.empty() && Peek(3).kind == Tok::kDeclare) {
        p.vars = {Peek().text, Peek(2).text};
        i_ += 4;
      } else if (after == Tok::kDeclare || after == Tok::kAssign) {
        p.vars = {Peek().text};
        p.assign = after == Tok::kAssign;
        i_ += 2;
      }
    }
    while (true) {
      BERTH_ASSIGN_OR_RETURN(Command c, ParseCommand());
      p.cmds.push_back(std::move(c));
      if (Peek().kind != Tok::kPipe) break;
      ++i_;
    }
    return p;
  }

  Result<Command> ParseCommand() {
    Command c;
    c.pos = Peek().pos;
    while (true) {
      Tok k = Peek().kind;
      if (k == Tok::kRight || k == Tok::kRParen || k == Tok::kPipe || k == Tok::kEof) break;
      BERTH_ASSIGN_OR_RETURN(Operand o, ParseOperand());
      c.args.push_back(std::move(o));
    }
    if (c.args.empty()) return Fail(Peek().pos, "missing value for command");
    return c;
  }

  Result<Operand> ParseOperand() {
    const Token& t = Next();
    Operand o;
    o.pos = t.pos;
    switch (t.kind) {
      case Tok::kField:
      case Tok::kDot:
        o.kind = Operand::kField;
        o.fields = t.fields;
        return o;
      case Tok::kVariable:
        o.kind = Operand::kVariable;
        o.text = t.text;
        o.fields = t.fields;
        return o;
      case Tok::kString:
        o.kind = Operand::kString;
        o.text = t.text;
        return o;
      case Tok::kNumber:
        return ParseNumber(t);
      case Tok::kIdent:
        if (t.text == "true" || t.text == "false") {
          o.kind = Operand::kBool;
          o.bool_value = t.text == "true";
        } else if (t.text == "nil") {
          o.kind = Operand::kNil;
        } else if (IsFunction(t.text)) {
          o.kind = Operand::kFunction;
          o.text = t.text;
        } else {
          return Fail(t.pos, "function \"" + t.text + "\" not defined");
        }
        return o;
      case Tok::kLParen: {
        if (++depth_ > kMaxDepth) return Fail(t.pos, "parentheses nested too deeply");
        BERTH_ASSIGN_OR_RETURN(Pipeline p, ParsePipeline(false, false));
        --depth_;
        const Token& close = Next();
        if (close.kind != Tok::kRParen) return Fail(close.pos, "unclosed left paren");
        o.kind = Operand::kPipeline;
        o.pipe = std::make_shared<const Pipeline>(std::move(p));
        if (Peek().kind == Tok::kField && !Peek().space_before) o.fields = Next().fields;
        return o;
      }
      default:
        return Fail(t.pos, "unexpected " + Describe(t) + " in operand");
    }
  }

  Result<Operand> ParseNumber(const Token& t) {
    Operand o;
    o.pos = t.pos;
    const std::string& s = t.text;
    std::string_view digits = s;
    if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
    int base = 10;
    bool neg = !digits.empty() && digits[0] == '-';
    std::string_view mag = neg ? digits.substr(1) : digits;
    if (mag.size() > 2 && mag[0] == '0' && (mag[1] == 'x' || mag[1] == 'X')) {
      base = 16;
      mag.remove_prefix(2);
    }
    uint64_t u = 0;
    auto r = std::from_chars(mag.data(), mag.data() + mag.size(), u, base);
    if (r.ec == std::errc() && r.ptr == mag.data() + mag.size() && !mag.empty() &&
        u <= static_cast<uint64_t>(INT64_MAX) + (neg ? 1 : 0)) {
      o.kind = Operand::kInt;
      o.int_value = neg ? static_cast<int64_t>(0 - u) : static_cast<int64_t>(u);
      return o;
    }
    if (base == 10) {
      std::string copy(digits);
      char* end = nullptr;
      double d = std::strtod(copy.c_str(), &end);
      if (end == copy.c_str() + copy.size() && !copy.empty() &&
          copy.find_first_not_of("0123456789.eE+-") == std::string::npos) {
        o.kind = Operand::kFloat;
        o.float_value = d;
        return o;
      }
    }
    return Fail(t.pos, "bad number syntax: " + s);
  }

  const std::string& s_;
  std::vector<Token> t_;
  size_t i_ = 0;
  int depth_ = 0;
};

// Records every field chain read from `.` in `n` (for the header document).
void CollectFields(const Pipeline& p, std::vector<std::vector<std::string>>& out);
void CollectFields(const std::vector<Node>& nodes, std::vector<std::vector<std::string>>& out) {
  for (const Node& n : nodes) {
    if (n.kind != Node::kText) CollectFields(n.pipe, out);
    CollectFields(n.body, out);
    CollectFields(n.else_body, out);
  }
}
void CollectFields(const Pipeline& p, std::vector<std::vector<std::string>>& out) {
  for (const Command& c : p.cmds) {
    for (const Operand& o : c.args) {
      if (o.kind == Operand::kField && !o.fields.empty()) out.push_back(o.fields);
      if (o.pipe) CollectFields(*o.pipe, out);
    }
  }
}

}  // namespace

std::string Where(const std::string& source, size_t pos, const std::string& message) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < pos && i < source.size(); ++i) {
    if (source[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "template: " + std::to_string(line) + ":" + std::to_string(col) + ": " + message;
}

Result<Template> Template::Parse(std::string_view text) {
  std::string src(text);
  BERTH_ASSIGN_OR_RETURN(auto toks, Lexer(src).Run());
  BERTH_ASSIGN_OR_RETURN(Node root, Parser(src, std::move(toks)).Run());
  Template t;
  t.root_ = std::make_shared<const Node>(std::move(root));
  return t;
}

nlohmann::json Template::HeaderDocument(
    const std::function<std::string(const std::string& field)>& header) const {
  std::vector<std::vector<std::string>> chains;
  CollectFields(root_->body, chains);
  nlohmann::json doc = nlohmann::json::object();
  for (const auto& chain : chains) {
    nlohmann::json* at = &doc;
    for (size_t i = 0; i + 1 < chain.size() && at; ++i) {
      nlohmann::json& next = (*at)[chain[i]];
      if (next.is_null()) next = nlohmann::json::object();
      at = next.is_object() ? &next : nullptr;  // a shorter chain already put a header here
    }
    if (at && !at->contains(chain.back())) (*at)[chain.back()] = header(chain.back());
  }
  return doc;
}

}  // namespace berth::tmpl
