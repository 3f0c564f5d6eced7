// The Prometheus text exposition format (version 0.0.4), written by hand: Debian 12 has no
// prometheus-cpp, and berthd only needs counters, gauges and histograms. One family at a time:
// its # HELP and # TYPE lines, then its samples; label values escaped as the format asks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::daemon {

using Labels = std::vector<std::pair<std::string, std::string>>;

class PromText {
 public:
  /// `type`: "counter", "gauge" or "histogram". Counter names end in _total, by convention.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  void Sample(std::string_view name, const Labels& labels, uint64_t value);
  void Sample(std::string_view name, uint64_t value) { Sample(name, {}, value); }
  /// One histogram series of family `name`: NAME_bucket{le=...} (cumulative, +Inf last),
  /// NAME_sum and NAME_count. `counts` per bucket, not cumulative: bounds.size() + 1 of them
  /// (the last: above every bound).
  void Histogram(std::string_view name, const Labels& labels, const std::vector<double>& bounds,
                 const std::vector<uint64_t>& counts, double sum);
  const std::string& text() const { return out_; }

  static constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

 private:
  void Name(std::string_view name, const Labels& labels);
  std::string out_;
};

}  // namespace berth::daemon
