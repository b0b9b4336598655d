#include <gtest/gtest.h>

#include "tensor/dtype.hpp"
#include "tensor/error.hpp"

using namespace cj;

TEST(DType, SizesAndNamesMatchPyTorch) {
  EXPECT_EQ(dtype_size(DType::f32), 4u);
  EXPECT_EQ(dtype_size(DType::bf16), 2u);
  EXPECT_EQ(dtype_size(DType::i64), 8u);
  EXPECT_EQ(dtype_size(DType::b8), 1u);
  EXPECT_STREQ(dtype_name(DType::bf16), "bfloat16");
  EXPECT_EQ(dtype_from_name("float16"), DType::f16);
  EXPECT_EQ(dtype_from_name("i32"), DType::i32);
}

TEST(DType, UnknownNameNamesWhatWasExpected) {
  try {
    dtype_from_name("float8");
    FAIL() << "expected cj::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'float8'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("expected"), std::string::npos);
  }
}
