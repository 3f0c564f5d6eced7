// The golden-file check of the firewall's rendering tests: `got` must equal
// testdata/NAME byte for byte; BERTH_UPDATE_GOLDEN=1 rewrites the file instead (then the test
// is skipped, so an update never passes as a check).
#pragma once

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace berth::firewall::testing {

inline void ExpectGolden(const std::string& name, const std::string& got) {
  const std::string path = std::string(BERTH_FIREWALL_TESTDATA) + "/" + name;
  if (std::getenv("BERTH_UPDATE_GOLDEN")) {
    std::ofstream(path) << got;
    GTEST_SKIP() << "wrote " << path;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing " << path;
  std::stringstream want;
  want << in.rdbuf();
  EXPECT_EQ(got, want.str());
}

}  // namespace berth::firewall::testing
