#include "core/log.h"

#include <gtest/gtest.h>

namespace berth::log {
namespace {

TEST(Log, LogfmtLinesQuoteOnlyWhatNeedsIt) {
  EXPECT_EQ(Format(Level::kInfo, "listening", {{"addr", "172.18.0.1"}, {"proto", "udp"}},
                   "2026-01-01T00:00:00.000Z"),
            "time=2026-01-01T00:00:00.000Z level=info msg=listening addr=172.18.0.1 proto=udp");
  EXPECT_EQ(Format(Level::kError, "bind failed", {{"error", "say \"no\"\nnow"}, {"x", ""}}, "T"),
            "time=T level=error msg=\"bind failed\" error=\"say \\\"no\\\"\\nnow\" x=\"\"");
}

TEST(Log, Levels) {
  Level l;
  EXPECT_TRUE(ParseLevel("debug", &l));
  EXPECT_EQ(l, Level::kDebug);
  EXPECT_FALSE(ParseLevel("loud", &l));
}

}  // namespace
}  // namespace berth::log
