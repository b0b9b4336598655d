// gradcheck of the fused neural-network ops with analytic backward kernels.
#include <gtest/gtest.h>

#include "tests/autograd/autograd_test_util.hpp"

using namespace cj;
using cj::test::leaf;

TEST(GradNN, LayerNorm) {
  Tensor x = leaf({3, 4, 5}, 5000, -2, 2), w = leaf({5}, 5001, 0.5, 1.5), b = leaf({5}, 5002);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return layer_norm(in[0], {5}, in[1], in[2]); }, {x, w, b});
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return layer_norm(in[0], {5}, in[1]); }, {x, w});
  EXPECT_GRADCHECK(
      [](const std::vector<Tensor>& in) {
        return layer_norm(in[0], {4, 5}, std::nullopt, std::nullopt, 1e-3);
      },
      {x});
  // Normalizing a permuted input, with parameters that do not require grad.
  Tensor wc = cj::test::seeded_uniform({3}, 5003, 0.5, 1.5, DType::f64);
  EXPECT_GRADCHECK(
      [](const std::vector<Tensor>& in) {
        return layer_norm(permute(in[0], {1, 2, 0}), {3}, in[1]);
      },
      {x, wc});
}

TEST(GradNN, ScaledDotProductAttention) {
  Tensor q = leaf({2, 3, 4}, 5100), k = leaf({2, 5, 4}, 5101), v = leaf({2, 5, 6}, 5102);
  EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return scaled_dot_product_attention(in[0], in[1], in[2]); },
                   {q, k, v});
  EXPECT_GRADCHECK(
      [](const std::vector<Tensor>& in) {
        return scaled_dot_product_attention(in[0], in[1], in[2], std::nullopt, 0.3);
      },
      {q, k, v});
  // A bool mask (true = attend) broadcast over the batch; every query keeps at least one key.
  Tensor keep = from_vector<bool>({1, 0, 1, 1, 0,  //
                                   0, 1, 1, 0, 0,  //
                                   1, 1, 1, 1, 0},
                                  {3, 5});
  EXPECT_GRADCHECK(
      [](const std::vector<Tensor>& in) { return scaled_dot_product_attention(in[0], in[1], in[2], in[3]); },
      {q, k, v, keep});
  // An additive float mask per batch element (does not require grad).
  Tensor bias = cj::test::seeded_uniform({2, 1, 5}, 5103, -1, 1, DType::f64);
  EXPECT_GRADCHECK(
      [](const std::vector<Tensor>& in) { return scaled_dot_product_attention(in[0], in[1], in[2], in[3], 0.7); },
      {q, k, v, bias});
  // (B, L, H, E) storage viewed as (B, H, L, E), as multi-head attention does.
  Tensor q4 = leaf({2, 3, 2, 4}, 5104), k4 = leaf({2, 4, 2, 4}, 5105), v4 = leaf({2, 4, 2, 3}, 5106);
  EXPECT_GRADCHECK(
      [](const std::vector<Tensor>& in) {
        return scaled_dot_product_attention(transpose(in[0], 1, 2), transpose(in[1], 1, 2), transpose(in[2], 1, 2));
      },
      {q4, k4, v4});
}

TEST(GradNN, Conv2d) {
  Tensor x = leaf({2, 4, 6, 5}, 5200), w = leaf({6, 2, 3, 2}, 5201), b = leaf({6}, 5202);
  Conv2dParams p;
  p.stride_h = 2;
  p.pad_h = 1;
  p.dilation_w = 2;
  p.groups = 2;
  EXPECT_GRADCHECK([p](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], p); }, {x, w, b});
  Tensor w1 = leaf({3, 4, 3, 3}, 5203);
  Conv2dParams same;
  same.pad_h = same.pad_w = 1;
  EXPECT_GRADCHECK([same](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], std::nullopt, same); }, {x, w1});
  // NHWC storage viewed as NCHW.
  Tensor nhwc = leaf({1, 5, 4, 4}, 5204);
  EXPECT_GRADCHECK(
      [](const std::vector<Tensor>& in) {
        return conv2d(permute(in[0], {0, 3, 1, 2}), in[1], std::nullopt, {});
      },
      {nhwc, w1});
}

TEST(GradNN, ConvTranspose2d) {
  Tensor x = leaf({2, 4, 3, 3}, 5300), w = leaf({4, 3, 3, 3}, 5301), b = leaf({3}, 5302);
  Conv2dParams p;
  p.stride_h = p.stride_w = 2;
  p.pad_h = p.pad_w = 1;
  p.output_pad_h = 1;
  EXPECT_GRADCHECK([p](const std::vector<Tensor>& in) { return conv_transpose2d(in[0], in[1], in[2], p); }, {x, w, b});
  Tensor wg = leaf({4, 1, 2, 2}, 5303);
  Conv2dParams g;
  g.groups = 2;
  g.dilation_h = 2;
  EXPECT_GRADCHECK([g](const std::vector<Tensor>& in) { return conv_transpose2d(in[0], in[1], std::nullopt, g); },
                   {x, wg});
}

TEST(GradNN, Interpolate) {
  struct Case {
    const char* name;
    Shape in;
    int64_t out_h, out_w;
    InterpMode mode;
    bool align_corners, antialias;
  };
  const Case cases[] = {
      {"nearest up/down", {1, 2, 4, 5}, 7, 3, InterpMode::nearest, false, false},
      {"bilinear up", {2, 1, 3, 4}, 5, 7, InterpMode::bilinear, false, false},
      {"bilinear align_corners", {1, 2, 3, 4}, 5, 6, InterpMode::bilinear, true, false},
      {"bilinear down", {1, 1, 6, 6}, 4, 3, InterpMode::bilinear, false, false},
      {"bicubic", {1, 2, 4, 4}, 6, 5, InterpMode::bicubic, false, false},
      {"bicubic align_corners", {1, 1, 4, 3}, 5, 5, InterpMode::bicubic, true, false},
      {"bilinear antialias down", {1, 2, 8, 8}, 3, 3, InterpMode::bilinear, false, true},
      {"bicubic antialias down", {1, 1, 8, 7}, 3, 4, InterpMode::bicubic, false, true},
  };
  uint64_t seed = 5400;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    InterpolateParams p;
    p.out_h = c.out_h;
    p.out_w = c.out_w;
    p.mode = c.mode;
    p.align_corners = c.align_corners;
    p.antialias = c.antialias;
    Tensor x = leaf(c.in, ++seed);
    EXPECT_GRADCHECK([p](const std::vector<Tensor>& in) { return interpolate(in[0], p); }, {x});
  }
}
