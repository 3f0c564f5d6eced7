#include "core/error.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(ErrorListTest, EmptyIsOk) {
  ErrorList errors;
  errors.Add(Ok());
  EXPECT_TRUE(errors.empty());
  EXPECT_TRUE(errors.ToStatus("remove c1").ok());
}

TEST(ErrorListTest, KeepsEveryErrorAndASharedCode) {
  ErrorList errors;
  errors.Add(Error::NotFound("veth gone"));
  errors.Add(Ok());
  errors.Add(Error::NotFound("mount gone"));
  Status st = errors.ToStatus("remove c1");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kNotFound);
  EXPECT_EQ(st.error().message(), "remove c1: veth gone; mount gone");
  EXPECT_EQ(errors.errors().size(), 2u);
}

TEST(ErrorListTest, MixedCodesBecomeSystemWithTheFirstErrno) {
  ErrorList errors;
  errors.Add(Error::System("delete veth", EBUSY));
  errors.Add(Error::Invalid("bad"));
  Status st = errors.ToStatus("rm");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::kSystem);
  EXPECT_EQ(st.error().sys_errno(), EBUSY);
}

}  // namespace
}  // namespace berth
