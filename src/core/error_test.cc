#include "core/error.h"

#include <gtest/gtest.h>

#include <cerrno>

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

TEST(ErrorListTest, KeepsDetailsAndASharedCniCode) {
  ErrorList errors;
  errors.Add(Error::Invalid("a").WithDetails("hint a").WithCniCode(4));
  errors.Add(Error::Invalid("b").WithCniCode(4));
  errors.Add(Error::Invalid("c").WithDetails("hint c").WithCniCode(4));
  Status st = errors.ToStatus("gc");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().details(), "hint a; hint c");
  EXPECT_EQ(st.error().cni_code(), 4);
  errors.Add(Error::Invalid("d").WithCniCode(6));
  EXPECT_EQ(errors.ToStatus("gc").error().cni_code(), 0) << "no one code speaks for all";
}

TEST(ErrorTest, WrapKeepsCodeErrnoDetailsAndCniCode) {
  Error e = Error::System("create veth", EEXIST).WithDetails("see ip link").WithCniCode(101);
  e.Wrap("attach c1");
  EXPECT_EQ(e.message(), "attach c1: create veth: File exists");
  EXPECT_EQ(e.code(), Code::kExists);
  EXPECT_EQ(e.sys_errno(), EEXIST);
  EXPECT_EQ(e.details(), "see ip link");
  EXPECT_EQ(e.cni_code(), 101);
  Error plain = Error::Internal("x");
  EXPECT_EQ(plain.cni_code(), 0);
  EXPECT_EQ(plain.details(), "");
}

}  // namespace
}  // namespace berth
