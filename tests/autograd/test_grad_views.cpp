// gradcheck of every view and copy op, on seeded random shapes.
#include <gtest/gtest.h>

#include "tests/autograd/autograd_test_util.hpp"

using namespace cj;
using cj::test::leaf;
using cj::test::random_shape;

TEST(GradViews, ReshapingViews) {
  std::mt19937 rng(1);
  for (int trial = 0; trial < 3; ++trial) {
    Shape s = random_shape(rng, 3);
    Tensor x = leaf(s, 100 + trial);
    EXPECT_GRADCHECK(
        [s](const std::vector<Tensor>& in) {
          Tensor t = flatten(unsqueeze(in[0], 1), 1);              // (a, b*c) with a 1 merged in
          t = unflatten(reshape(t, {-1}), 0, {s[0], s[1], s[2]});  // back to (a, b, c)
          t = squeeze(unsqueeze(unsqueeze(t, -1), 0));
          return view(t * t, {-1});
        },
        {x});
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return squeeze(unsqueeze(in[0], 2), 2) * 2.0; }, {x});
  }
}

TEST(GradViews, PermuteAndTranspose) {
  std::mt19937 rng(2);
  for (int trial = 0; trial < 3; ++trial) {
    Tensor x = leaf(random_shape(rng, 4), 200 + trial);
    EXPECT_GRADCHECK(
        [](const std::vector<Tensor>& in) {
          Tensor p = permute(in[0], {2, 0, -1, 1});
          return transpose(p, 0, -1) * transpose(p, 0, -1);  // non-contiguous operands in the product
        },
        {x});
    // reshape of a permuted tensor must copy; its gradient must still find its way back.
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return reshape(transpose(in[0], 1, 2), {-1}) * 1.5; }, {x});
  }
}

TEST(GradViews, SliceNarrowSelect) {
  Tensor x = leaf({6, 5, 4}, 300);
  EXPECT_GRADCHECK(
      [](const std::vector<Tensor>& in) {
        Tensor t = slice(in[0], 0, 1, 6, 2);  // rows 1, 3, 5
        t = narrow(t, 1, 1, 3);
        return select(t, 2, -1) * select(t, 2, 0);
      },
      {x});
  // Overlapping slices of one tensor: their gradients add up.
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return narrow(in[0], 0, 0, 4) + narrow(in[0], 0, 2, 4) * 3.0; },
                   {x});
}

TEST(GradViews, ExpandSumsBackToTheInputShape) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 3; ++trial) {
    Shape s = random_shape(rng, 3, 3);
    Tensor x = leaf({s[1], 1}, 400 + trial), y = leaf(s, 410 + trial);
    EXPECT_GRADCHECK([s](const std::vector<Tensor>& in) { return expand(in[0], {s[0], -1, s[2]}) * in[1]; }, {x, y});
  }
}

TEST(GradViews, AsStridedOverlappingWindows) {
  Tensor x = leaf({12}, 500);
  // Windows of 4 starting every 2 elements from offset 1: interior elements appear twice, and
  // elements 0 and 11 not at all.
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return as_strided(in[0], {4, 4}, {2, 1}, 1) * 2.0; }, {x});
}

TEST(GradViews, CopiesPassTheGradientThrough) {
  Tensor x = leaf({3, 4}, 600);
  EXPECT_GRADCHECK(
      [](const std::vector<Tensor>& in) { return clone(in[0]) * transpose(contiguous(transpose(in[0], 0, 1)), 0, 1); },
      {x});
}

TEST(GradViews, ToCastsTheGradientBack) {
  Tensor x = ops::to(cj::test::seeded_uniform({3}, 601), DType::f32);
  x.requires_grad_();
  Tensor y = to(x, DType::f64);
  backward(sum(y * y));
  EXPECT_EQ(x.grad().dtype(), DType::f32);
  std::vector<float> xv = to_vector<float>(x), g = to_vector<float>(x.grad());
  for (size_t i = 0; i < xv.size(); ++i) EXPECT_FLOAT_EQ(g[i], 2 * xv[i]);
}
