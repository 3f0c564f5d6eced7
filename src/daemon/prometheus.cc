#include "daemon/prometheus.h"

#include <charconv>

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

void PromText::Name(std::string_view name, const Labels& labels) {
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
}

void PromText::Sample(std::string_view name, const Labels& labels, uint64_t value) {
  Name(name, labels);
  out_ += ' ';
  out_ += std::to_string(value);
  out_ += '\n';
}

namespace {

// The shortest text that reads back as `v` ("0.005", "2.5e-05").
std::string Float(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "NaN";
}

}  // namespace

void PromText::Histogram(std::string_view name, const Labels& labels,
                         const std::vector<double>& bounds, const std::vector<uint64_t>& counts,
                         double sum) {
  std::string bucket = std::string(name) + "_bucket";
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds.size(); ++i) {
    total += i < counts.size() ? counts[i] : 0;
    Labels with = labels;
    with.emplace_back("le", i < bounds.size() ? Float(bounds[i]) : "+Inf");
    Sample(bucket, with, total);
  }
  Name(std::string(name) + "_sum", labels);
  out_ += ' ';
  out_ += Float(sum);
  out_ += '\n';
  Sample(std::string(name) + "_count", labels, total);
}

}  // namespace berth::daemon
