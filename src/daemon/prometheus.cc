#include "daemon/prometheus.h"

namespace berth::daemon {

namespace {

void Escape(std::string_view v, bool quote_too, std::string* out) {
  for (char c : v) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '\n') {
      *out += "\\n";
    } else if (c == '"' && quote_too) {
      *out += "\\\"";
    } else {
      *out += c;
    }
  }
}

}  // namespace

void PromText::Family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  Escape(help, false, &out_);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void PromText::Sample(std::string_view name, const Labels& labels, uint64_t value) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i) out_ += ',';
      out_ += labels[i].first;
      out_ += "=\"";
      Escape(labels[i].second, true, &out_);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  out_ += std::to_string(value);
  out_ += '\n';
}

}  // namespace berth::daemon
