// gradcheck of the matrix products, including vector operands, broadcast batch dims and
// transposed (non-contiguous) operands.
#include <gtest/gtest.h>

#include "tests/autograd/autograd_test_util.hpp"

using namespace cj;
using cj::test::leaf;

TEST(GradLinalg, MmAndBmm) {
  Tensor a = leaf({3, 4}, 3000), b = leaf({4, 2}, 3001);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return mm(in[0], in[1]); }, {a, b});
  Tensor bt = leaf({2, 4}, 3002);  // used transposed
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return mm(in[0], transpose(in[1], 0, 1)); }, {a, bt});
  Tensor p = leaf({2, 3, 4}, 3003), q = leaf({2, 4, 5}, 3004);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return bmm(in[0], in[1]); }, {p, q});
  // One matrix used twice: a aᵀ.
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return mm(in[0], transpose(in[0], 0, 1)); }, {a});
}

TEST(GradLinalg, MatmulShapes) {
  struct Case {
    Shape a, b;
  };
  const Case cases[] = {
      {{4}, {4}},          {{4}, {4, 3}},       {{3, 4}, {4}},
      {{2, 3, 4}, {4}},    {{4}, {2, 4, 3}},    {{2, 1, 3, 4}, {5, 4, 2}},
      {{3, 4}, {2, 4, 5}}, {{2, 3, 4}, {4, 5}},
  };
  uint64_t seed = 3100;
  for (const Case& c : cases) {
    SCOPED_TRACE(shape_str(c.a) + " @ " + shape_str(c.b));
    Tensor a = leaf(c.a, ++seed), b = leaf(c.b, ++seed);
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {a, b});
  }
}

TEST(GradLinalg, Linear) {
  Tensor w = leaf({3, 4}, 3200), bias = leaf({3}, 3201);
  for (const Shape& xs : {Shape{4}, Shape{5, 4}, Shape{2, 3, 4}}) {
    SCOPED_TRACE(shape_str(xs));
    Tensor x = leaf(xs, 3202);
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); }, {x, w, bias});
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return linear(in[0], in[1]); }, {x, w});
  }
  // A weight stored transposed, and an input that is a slice.
  Tensor wt = leaf({4, 3}, 3203), xbig = leaf({6, 8}, 3204);
  EXPECT_GRADCHECK(
      [](const std::vector<Tensor>& in) { return linear(slice(in[0], 1, 0, 8, 2), transpose(in[1], 0, 1), in[2]); },
      {xbig, wt, bias});
}
