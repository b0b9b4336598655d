// cuda/conv_composite.hpp: the CUDA backend's native convolutions (used where cuDNN is absent or
// not chosen) are written against the public ops, so here they run on CPU tensors and must agree
// with ops::conv2d, ops::conv2d_backward, ops::conv_transpose2d and ops::conv_transpose2d_backward.
//
// Tolerances on max|got - want| / max|want|: both sides compute in f32 (f64 for f64) and differ only
// in summation order, a few f32 (f64) roundings of sums of at most 150 products: 1e-5 (1e-12).
// 16-bit results are rounded once from f32 on both sides, so an element may land one rounding step
// apart: 2^-7 of the element for bf16, 2^-10 for f16, plus the f32 slack.
#include "cuda/conv_composite.hpp"

#include <cmath>

#include "index_test_util.hpp"
#include "numeric_check.hpp"

using namespace cj;
using namespace cj::testing;

namespace {

double tolerance(DType dt) {
  switch (dt) {
    case DType::f64: return 1e-12;
    case DType::bf16: return std::ldexp(1.0, -7) + 1e-5;
    case DType::f16: return std::ldexp(1.0, -10) + 1e-5;
    default: return 1e-5;
  }
}

Conv2dParams params(int64_t stride_h, int64_t stride_w, int64_t pad_h, int64_t pad_w, int64_t dilation_h = 1,
                    int64_t dilation_w = 1, int64_t groups = 1, int64_t output_pad_h = 0, int64_t output_pad_w = 0) {
  Conv2dParams p;
  p.stride_h = stride_h, p.stride_w = stride_w, p.pad_h = pad_h, p.pad_w = pad_w;
  p.dilation_h = dilation_h, p.dilation_w = dilation_w, p.groups = groups;
  p.output_pad_h = output_pad_h, p.output_pad_w = output_pad_w;
  return p;
}

struct ConvCase {
  std::string name;
  Shape x, w;
  Conv2dParams p;
  bool bias;
};

Tensor input(const Shape& shape, DType dt, uint64_t seed) { return test::seeded_uniform(shape, seed, -1.0, 1.0, dt); }

void expect_near(const Tensor& got, const Tensor& want, DType dt, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  EXPECT_LE(test::max_rel_error(got, want), tolerance(dt)) << what;
}

// Forward and backward of one case in every float dtype, the composite against the CPU op; the
// input x also once as a non-contiguous view.
void check_case(const ConvCase& c, bool transposed) {
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::f16})
    for (bool strided_x : {false, true}) {
      SCOPED_TRACE(c.name + " " + dtype_name(dt) + (strided_x ? " non-contiguous x" : ""));
      Tensor x = input(c.x, dt, 1), w = input(c.w, dt, 2);
      if (strided_x) x = test::noncontiguous_copy(x);
      const int64_t out_channels = transposed ? c.w[1] * c.p.groups : c.w[0];
      std::optional<Tensor> b;
      if (c.bias) b = input({out_channels}, dt, 3);
      ASSERT_TRUE(composite::is_valid_conv(x, w, b, c.p, transposed));
      Tensor want = transposed ? ops::conv_transpose2d(x, w, b, c.p) : ops::conv2d(x, w, b, c.p);
      Tensor got = transposed ? composite::native_conv_transpose2d(x, w, b, c.p)
                              : composite::native_conv2d(x, w, b, c.p);
      expect_near(got, want, dt, "forward");
      Tensor gy = input(want.shape(), dt, 4);
      ASSERT_TRUE(composite::is_valid_conv_backward(gy, x, w, c.p, transposed));
      ops::ConvGrads ref = transposed ? ops::conv_transpose2d_backward(gy, x, w, c.bias, c.p)
                                      : ops::conv2d_backward(gy, x, w, c.bias, c.p);
      ops::ConvGrads grads = transposed ? composite::native_conv_transpose2d_backward(gy, x, w, c.bias, c.p)
                                        : composite::native_conv2d_backward(gy, x, w, c.bias, c.p);
      expect_near(grads.gx, ref.gx, dt, "grad input");
      expect_near(grads.gw, ref.gw, dt, "grad weight");
      EXPECT_EQ(grads.gb.defined(), c.bias);
      if (c.bias) expect_near(grads.gb, ref.gb, dt, "grad bias");
    }
}

}  // namespace

TEST(ConvComposite, Conv2dMatchesTheCpuOpForwardAndBackward) {
  const ConvCase cases[] = {
      // DINOv2's patch embedding: 14x14 stride 14, pixels left over
      {"patch embedding", {2, 3, 30, 29}, {5, 3, 14, 14}, params(14, 14, 0, 0), true},
      {"1x1", {2, 4, 1, 7}, {6, 4, 1, 1}, params(1, 1, 0, 0), false},
      {"3x3 same", {1, 2, 5, 6}, {3, 2, 3, 3}, params(1, 1, 1, 1), true},
      {"stride, padding and dilation per axis", {2, 2, 9, 11}, {3, 2, 3, 2}, params(2, 3, 1, 2, 2, 1), true},
      {"2 groups, stride 2", {2, 4, 7, 8}, {6, 2, 3, 3}, params(2, 2, 1, 1, 1, 1, 2), true},
      {"3 groups, dilated", {1, 6, 9, 9}, {3, 2, 3, 3}, params(1, 1, 2, 2, 2, 2, 3), false},
      {"depthwise", {2, 5, 8, 7}, {5, 1, 3, 3}, params(1, 1, 1, 1, 1, 1, 5), true},
      {"depthwise multiplier 2, stride 2", {1, 3, 9, 6}, {6, 1, 5, 3}, params(2, 1, 2, 1, 1, 1, 3), false},
      {"SAVi encoder k5", {2, 4, 8, 8}, {4, 4, 5, 5}, params(1, 1, 2, 2), true},
  };
  for (const ConvCase& c : cases) check_case(c, false);
}

TEST(ConvComposite, ConvTranspose2dMatchesTheCpuOpForwardAndBackward) {
  const ConvCase cases[] = {
      {"stride 2 kernel 2", {1, 2, 4, 5}, {2, 3, 2, 2}, params(2, 2, 0, 0), false},
      // SAVi's decoder: kernel 5, stride 2, padding 2, output_padding 1
      {"SAVi decoder", {2, 4, 4, 4}, {4, 3, 5, 5}, params(2, 2, 2, 2, 1, 1, 1, 1, 1), true},
      {"stride, padding, output_padding per axis", {2, 3, 5, 4}, {3, 2, 3, 4}, params(3, 2, 1, 2, 1, 1, 1, 2, 0), true},
      {"2 groups, dilated", {2, 4, 5, 6}, {4, 3, 3, 3}, params(2, 1, 1, 0, 2, 2, 2), true},
      {"depthwise", {1, 4, 6, 5}, {4, 1, 3, 3}, params(1, 2, 1, 1, 1, 1, 4, 0, 1), false},
      // output_padding 1 at stride 1 (allowed because dilation 2 > stride): a conv2d of the output
      // has one row more than x
      {"output_padding beyond the stride", {1, 2, 4, 5}, {2, 3, 2, 3}, params(1, 1, 0, 1, 2, 2, 1, 1, 1), true},
      {"1x1", {2, 3, 3, 2}, {3, 4, 1, 1}, params(1, 1, 0, 0), true},
  };
  for (const ConvCase& c : cases) check_case(c, true);
}

// What the composite does not compute (bad arguments, empty tensors) the caller hands to the CPU
// op, whose checks name the problem: the predicate must refuse exactly those.
TEST(ConvComposite, ArgumentsTheCpuOpRejectsAreNotTaken) {
  Tensor x = input({1, 4, 8, 8}, DType::f32, 5), w = input({6, 2, 3, 3}, DType::f32, 6);
  const Conv2dParams grouped = params(1, 1, 0, 0, 1, 1, 2);
  EXPECT_TRUE(composite::is_valid_conv(x, w, input({6}, DType::f32, 7), grouped, false));
  EXPECT_FALSE(composite::is_valid_conv(x, w, std::nullopt, Conv2dParams{}, false));  // C/groups != w.size(1)
  EXPECT_FALSE(composite::is_valid_conv(x, w, std::nullopt, params(1, 1, 0, 0, 1, 1, 3), false));
  EXPECT_FALSE(composite::is_valid_conv(x, w, input({5}, DType::f32, 7), grouped, false));
  EXPECT_FALSE(composite::is_valid_conv(x, w, input({6}, DType::f64, 7), grouped, false));
  EXPECT_FALSE(composite::is_valid_conv(x, ops::to(w, DType::f64), std::nullopt, grouped, false));
  EXPECT_FALSE(composite::is_valid_conv(ops::to(x, DType::i32), ops::to(w, DType::i32), std::nullopt, grouped, false));
  EXPECT_FALSE(composite::is_valid_conv(x, input({6, 2, 9, 3}, DType::f32, 8), std::nullopt, grouped, false));
  EXPECT_FALSE(composite::is_valid_conv(x, w, std::nullopt, params(0, 1, 0, 0, 1, 1, 2), false));
  EXPECT_FALSE(composite::is_valid_conv(x, w, std::nullopt, params(1, 1, 0, 0, 1, 1, 2, 1, 0), false));
  EXPECT_FALSE(composite::is_valid_conv(input({0, 4, 8, 8}, DType::f32, 5), w, std::nullopt, grouped, false));
  // conv_transpose2d: w is (C_in, C_out/groups, kh, kw); output_padding below max(stride, dilation)
  Tensor wt = input({4, 3, 3, 3}, DType::f32, 9);
  EXPECT_TRUE(composite::is_valid_conv(x, wt, input({6}, DType::f32, 7), params(2, 2, 1, 1, 1, 1, 2, 1, 1), true));
  EXPECT_FALSE(composite::is_valid_conv(x, wt, std::nullopt, params(2, 2, 1, 1, 1, 1, 2, 2, 0), true));
  EXPECT_FALSE(composite::is_valid_conv(x, input({3, 3, 3, 3}, DType::f32, 9), std::nullopt, Conv2dParams{}, true));
  EXPECT_FALSE(composite::is_valid_conv(x, wt, std::nullopt, params(1, 1, 0, 0, 1, 1, 3), true));
  EXPECT_FALSE(composite::is_valid_conv(input({1, 4, 1, 1}, DType::f32, 5), input({4, 3, 1, 1}, DType::f32, 9),
                                        std::nullopt, params(1, 1, 1, 1), true));  // output size -1
  // backward: grad_output must be the forward output's shape and dtype
  Tensor gy = input({1, 6, 6, 6}, DType::f32, 10);
  EXPECT_TRUE(composite::is_valid_conv_backward(gy, x, w, grouped, false));
  EXPECT_FALSE(composite::is_valid_conv_backward(input({1, 6, 6, 5}, DType::f32, 10), x, w, grouped, false));
  EXPECT_FALSE(composite::is_valid_conv_backward(ops::to(gy, DType::f64), x, w, grouped, false));
  // and those are the arguments the CPU op rejects with its own message
  expect_error([&] { ops::conv2d(x, w, std::nullopt, Conv2dParams{}); }, {"conv2d", "does not fit input"});
  expect_error([&] { ops::conv2d_backward(input({1, 6, 6, 5}, DType::f32, 10), x, w, false, grouped); },
               {"conv2d_backward", "grad_output"});
}
