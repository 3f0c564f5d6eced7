#include "cli/completion.h"

#include "core/version.h"
#include "sys/proc.h"

namespace berth::cli {

namespace {

// Every command of the tree with its path ("" for berth, "network create"...).
void Walk(const CommandInfo& c, const std::string& path,
          std::vector<std::pair<std::string, const CommandInfo*>>& out) {
  out.push_back({path, &c});
  for (const CommandInfo& sub : c.subcommands) {
    Walk(sub, path.empty() ? sub.name : path + " " + sub.name, out);
  }
}

std::string Join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

// Shell functions `PREFIX_subs PATH`, `PREFIX_opts PATH` and `PREFIX_valued PATH` printing
// the subcommands, the flags and the flags that take a value of the command at PATH. The
// same text is valid bash and zsh.
std::string TreeFunctions(const CommandInfo& root) {
  std::vector<std::pair<std::string, const CommandInfo*>> all;
  Walk(root, "", all);
  std::string subs, opts, valued;
  for (const auto& [path, c] : all) {
    std::vector<std::string> s, o, v;
    for (const CommandInfo& sub : c->subcommands) s.push_back(sub.name);
    for (const OptionInfo& opt : c->options) {
      for (const std::string& n : opt.names) {
        o.push_back(n);
        if (opt.takes_value) v.push_back(n);
      }
    }
    std::string label = "    \"" + path + "\") echo \"";
    subs += label + Join(s) + "\" ;;\n";
    opts += label + Join(o) + "\" ;;\n";
    valued += label + Join(v) + "\" ;;\n";
  }
  return "_berth_subs() {\n  case \"$1\" in\n" + subs + "  esac\n}\n" +
         "_berth_opts() {\n  case \"$1\" in\n" + opts + "  esac\n}\n" +
         "_berth_valued() {\n  case \"$1\" in\n" + valued + "  esac\n}\n";
}

// The loop that finds which command the words so far name: subcommand names extend the
// path; a flag that takes a value skips the next word; the first other word (a container's
// command, a name) ends the walk. FIRST and LAST bound the words before the cursor.
std::string WalkWords(const std::string& words, const std::string& first, const std::string& last) {
  return "  local cmdpath=\"\" w i skip=0\n"
         "  for ((i = " +
         first + "; i < " + last +
         "; i++)); do\n"
         "    w=\"${" +
         words +
         "[i]}\"\n"
         "    if ((skip)); then skip=0; continue; fi\n"
         "    case \"$w\" in\n"
         "      --root) skip=1; continue ;;\n"
         "      --*=*) continue ;;\n"
         "      -*) case \" $(_berth_valued \"$cmdpath\") \" in *\" $w \"*) skip=1 ;; esac; "
         "continue ;;\n"
         "    esac\n"
         "    case \" $(_berth_subs \"$cmdpath\") \" in\n"
         "      *\" $w \"*) cmdpath=\"${cmdpath:+$cmdpath }$w\" ;;\n"
         "      *) break ;;\n"
         "    esac\n"
         "  done\n";
}

std::string Roff(const std::string& text) {
  std::string out;
  bool line_start = true;
  for (char ch : text) {
    if (line_start && (ch == '.' || ch == '\'')) out += "\\&";
    if (ch == '\\') {
      out += "\\e";
    } else if (ch == '-') {
      out += "\\-";
    } else {
      out += ch;
    }
    line_start = ch == '\n';
  }
  return out;
}

std::string Upper(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

std::string Page(const std::string& path, const CommandInfo& c) {
  std::string title = path.empty() ? "berth" : "berth-" + path;
  for (char& ch : title) ch = ch == ' ' ? '-' : ch;
  std::string cmd = path.empty() ? "berth" : "berth " + path;
  std::string out =
      ".TH " + Upper(title) + " 1 \"\" \"berth " BERTH_VERSION "\" \"berth manual\"\n";
  out += ".SH NAME\n" + Roff(title) + " \\- " + Roff(c.description) + "\n";
  out += ".SH SYNOPSIS\n\\fB" + Roff(cmd) + "\\fR";
  if (!c.options.empty()) out += " [OPTIONS]";
  if (!c.subcommands.empty()) out += " COMMAND";
  for (const std::string& p : c.positionals) out += " " + Upper(Roff(p));
  out += "\n.SH DESCRIPTION\n" + Roff(c.description) + ".\n";
  if (path.empty()) {
    out +=
        ".PP\nThe state root is $BERTH_ROOT or /var/lib/berth (\\fB\\-\\-root\\fR); "
        "the default bridge is configured in \\fI<root>/config.json\\fR.\n";
  }
  if (!c.subcommands.empty()) {
    out += ".SH COMMANDS\n";
    for (const CommandInfo& sub : c.subcommands) {
      out += ".TP\n\\fB" + Roff(sub.name) + "\\fR\n" + Roff(sub.description) + "\n";
    }
  }
  if (!c.options.empty()) {
    out += ".SH OPTIONS\n";
    for (const OptionInfo& o : c.options) {
      std::string names;
      for (const std::string& n : o.names)
        names += (names.empty() ? "" : ", ") + ("\\fB" + Roff(n) + "\\fR");
      out += ".TP\n" + names + (o.takes_value ? " \\fIVALUE\\fR" : "") + "\n" +
             Roff(o.description) + "\n";
    }
  }
  if (!c.footer.empty()) out += ".SH NOTES\n.nf\n" + Roff(c.footer) + "\n.fi\n";
  out += ".SH SEE ALSO\n";
  if (path.empty()) {
    std::string refs;
    for (const CommandInfo& sub : c.subcommands) {
      refs += (refs.empty() ? "" : ",\n") + ("\\fBberth\\-" + Roff(sub.name) + "\\fR(1)");
    }
    out += refs + "\n";
  } else {
    out += "\\fBberth\\fR(1)\n";
  }
  return out;
}

}  // namespace

std::string BashCompletion(const CommandInfo& root) {
  return "# bash completion for berth (generated by `berth completion bash`)\n" +
         TreeFunctions(root) +
         "_berth() {\n"
         "  local cur=\"${COMP_WORDS[COMP_CWORD]}\"\n" +
         WalkWords("COMP_WORDS", "1", "COMP_CWORD") +
         "  if ((i < COMP_CWORD)); then COMPREPLY=(); return; fi  # the container's command\n"
         "  if ((skip)); then COMPREPLY=(); return; fi            # an option's value: files\n"
         "  if [[ $cur == -* ]]; then\n"
         "    COMPREPLY=($(compgen -W \"$(_berth_opts \"$cmdpath\")\" -- \"$cur\"))\n"
         "  else\n"
         "    COMPREPLY=($(compgen -W \"$(_berth_subs \"$cmdpath\")\" -- \"$cur\"))\n"
         "  fi\n"
         "}\n"
         "complete -o default -F _berth berth\n";
}

std::string ZshCompletion(const CommandInfo& root) {
  return "#compdef berth\n# zsh completion for berth (generated by `berth completion zsh`)\n" +
         TreeFunctions(root) +
         "_berth() {\n"
         "  local cur=\"${words[CURRENT]}\"\n" +
         WalkWords("words", "2", "CURRENT") +
         "  if ((i < CURRENT || skip)); then _files; return; fi\n"
         "  if [[ $cur == -* ]]; then\n"
         "    compadd -- ${=$(_berth_opts \"$cmdpath\")}\n"
         "  else\n"
         "    local subs=\"$(_berth_subs \"$cmdpath\")\"\n"
         "    if [[ -n $subs ]]; then compadd -- ${=subs}; else _files; fi\n"
         "  fi\n"
         "}\n"
         "if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then\n"
         "  _berth \"$@\"\n"
         "else\n"
         "  compdef _berth berth\n"
         "fi\n";
}

Result<std::string> ManPage(const CommandInfo& root, const std::vector<std::string>& verb) {
  const CommandInfo* c = &root;
  std::string path;
  for (const std::string& word : verb) {
    const CommandInfo* next = nullptr;
    for (const CommandInfo& sub : c->subcommands) {
      if (sub.name == word) next = &sub;
    }
    if (!next) return Error::NotFound("no manual page for berth " + Join(verb));
    c = next;
    path += (path.empty() ? "" : " ") + word;
  }
  return Page(path, *c);
}

Status WriteManPages(const CommandInfo& root, const std::string& dir) {
  BERTH_TRY(sys::MakeDirs(dir, 0755));
  std::vector<std::pair<std::string, const CommandInfo*>> all;
  Walk(root, "", all);
  for (const auto& [path, c] : all) {
    std::string file = path.empty() ? "berth" : "berth-" + path;
    for (char& ch : file) ch = ch == ' ' ? '-' : ch;
    BERTH_TRY(sys::WriteFileAtomic(dir + "/" + file + ".1", Page(path, *c), 0644));
  }
  return Ok();
}

}  // namespace berth::cli
