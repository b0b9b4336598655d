// conv2d / conv_transpose2d forward and backward against PyTorch fixtures, naive f64 loops on
// non-contiguous inputs, and f64 finite differences.
#include <gtest/gtest.h>

#include "tests/tensor/fixture_cases.hpp"
#include "tests/tensor/numeric_check.hpp"

using namespace cj;
using namespace cj::test;

namespace {

ops::Conv2dParams params_of(const nlohmann::json& c) {
  ops::Conv2dParams p;
  p.stride_h = c["stride"][0], p.stride_w = c["stride"][1];
  p.pad_h = c["padding"][0], p.pad_w = c["padding"][1];
  p.dilation_h = c["dilation"][0], p.dilation_w = c["dilation"][1];
  p.groups = c["groups"];
  if (c["transposed"].get<bool>()) p.output_pad_h = c["output_padding"][0], p.output_pad_w = c["output_padding"][1];
  return p;
}

// Direct definition of both convolutions in f64: every (input, weight) pair contributes to the output
// position it maps to. conv2d gathers, conv_transpose2d scatters (input and output roles swap).
Tensor reference_conv(const Tensor& x, const Tensor& w, const Tensor& b, const ops::Conv2dParams& p, bool transposed,
                      const Shape& out_shape) {
  std::vector<double> xv = to_vector<double>(x), wv = to_vector<double>(w), out(shape_numel(out_shape), 0.0);
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), kh = w.size(2), kw = w.size(3);
  const int64_t O = out_shape[1], Ho = out_shape[2], Wo = out_shape[3], G = p.groups;
  const int64_t Cg = C / G, Og = O / G;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t g = 0; g < G; ++g)
      for (int64_t co = 0; co < Og; ++co)
        for (int64_t ci = 0; ci < Cg; ++ci)
          for (int64_t i = 0; i < kh; ++i)
            for (int64_t j = 0; j < kw; ++j) {
              const int64_t o = g * Og + co, c = g * Cg + ci;
              const double wt = transposed ? wv[((c * Og + co) * kh + i) * kw + j] : wv[((o * Cg + ci) * kh + i) * kw + j];
              // the "small" side (conv output / transposed input) indexes the patch grid
              const int64_t gh = transposed ? H : Ho, gw = transposed ? W : Wo;
              const int64_t ih_size = transposed ? Ho : H, iw_size = transposed ? Wo : W;
              for (int64_t a = 0; a < gh; ++a)
                for (int64_t bb = 0; bb < gw; ++bb) {
                  const int64_t ih = a * p.stride_h - p.pad_h + i * p.dilation_h;
                  const int64_t iw = bb * p.stride_w - p.pad_w + j * p.dilation_w;
                  if (ih < 0 || ih >= ih_size || iw < 0 || iw >= iw_size) continue;
                  if (transposed) out[((n * O + o) * Ho + ih) * Wo + iw] += wt * xv[((n * C + c) * H + a) * W + bb];
                  else out[((n * O + o) * Ho + a) * Wo + bb] += wt * xv[((n * C + c) * H + ih) * W + iw];
                }
            }
  if (b.defined()) {
    std::vector<double> bv = to_vector<double>(b);
    for (size_t i = 0; i < out.size(); ++i) out[i] += bv[(i / (Ho * Wo)) % O];
  }
  return from_vector(out, out_shape);
}

// Weight gradient of either convolution in f64. "grid" is the patch-grid side (conv2d: gy; transposed: x)
// and "image" the side patches are read from (conv2d: x; transposed: gy); the weight is
// (grid channels, image channels / groups, kh, kw) in both layouts.
Tensor reference_weight_grad(const Tensor& grid, const Tensor& image, const Shape& w_shape, const ops::Conv2dParams& p) {
  std::vector<double> gv = to_vector<double>(grid), iv = to_vector<double>(image), gw(shape_numel(w_shape), 0.0);
  const int64_t N = grid.size(0), GC = grid.size(1), Gh = grid.size(2), Gw = grid.size(3);
  const int64_t IC = image.size(1), H = image.size(2), W = image.size(3), kh = w_shape[2], kw = w_shape[3];
  const int64_t G = p.groups, GCg = GC / G, ICg = IC / G;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t gc = 0; gc < GC; ++gc)
      for (int64_t ci = 0; ci < ICg; ++ci)
        for (int64_t i = 0; i < kh; ++i)
          for (int64_t j = 0; j < kw; ++j)
            for (int64_t a = 0; a < Gh; ++a)
              for (int64_t bb = 0; bb < Gw; ++bb) {
                const int64_t ih = a * p.stride_h - p.pad_h + i * p.dilation_h;
                const int64_t iw = bb * p.stride_w - p.pad_w + j * p.dilation_w;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                const int64_t ic = gc / GCg * ICg + ci;
                gw[((gc * ICg + ci) * kh + i) * kw + j] +=
                    gv[((n * GC + gc) * Gh + a) * Gw + bb] * iv[((n * IC + ic) * H + ih) * W + iw];
              }
  return from_vector(gw, w_shape);
}

}  // namespace

TEST(Conv, MatchesPyTorchFixtures) {
  FixtureFile f(fixture_path("tensor/conv.safetensors"));
  for (const auto& c : fixture_cases(f)) {
    const std::string n = c["name"];
    SCOPED_TRACE(n);
    const bool transposed = c["transposed"], has_bias = c["bias"];
    const auto p = params_of(c);
    std::optional<Tensor> b;
    if (has_bias) b = f[n + ".bias"];
    const Tensor &x = f[n + ".x"], &w = f[n + ".weight"];
    Tensor y = transposed ? ops::conv_transpose2d(x, w, b, p) : ops::conv2d(x, w, b, p);
    EXPECT_LT(max_rel_error(y, f[n + ".y"]), 1e-5);
    auto g = transposed ? ops::conv_transpose2d_backward(f[n + ".gy"], x, w, has_bias, p)
                        : ops::conv2d_backward(f[n + ".gy"], x, w, has_bias, p);
    EXPECT_LT(max_rel_error(g.gx, f[n + ".gx"]), 1e-4);
    EXPECT_LT(max_rel_error(g.gw, f[n + ".gweight"]), 1e-4);
    if (has_bias) EXPECT_LT(max_rel_error(g.gb, f[n + ".gbias"]), 1e-4);
    else EXPECT_FALSE(g.gb.defined());
  }
}

TEST(Conv, NoncontiguousInputsMatchNaiveReference) {
  ops::Conv2dParams p;
  p.stride_h = 2, p.stride_w = 1, p.pad_h = 1, p.pad_w = 2, p.dilation_h = 1, p.dilation_w = 2, p.groups = 2;
  Tensor x = seeded_uniform({3, 4, 7, 8}, 1, -1, 1, DType::f64), w = seeded_uniform({6, 2, 3, 2}, 2, -1, 1, DType::f64),
         b = seeded_uniform({6}, 3, -1, 1, DType::f64);
  Tensor y = ops::conv2d(noncontiguous_copy(x), noncontiguous_copy(w), noncontiguous_copy(b), p);
  EXPECT_LT(max_rel_error(y, reference_conv(x, w, b, p, false, y.shape())), 1e-14);
  Tensor y32 = ops::conv2d(ops::to(x, DType::f32), ops::to(w, DType::f32), ops::to(b, DType::f32), p);
  EXPECT_LT(max_rel_error(y32, y), 1e-6);
  Tensor y16 = ops::conv2d(ops::to(x, DType::bf16), ops::to(w, DType::bf16), ops::to(b, DType::bf16), p);
  EXPECT_EQ(y16.dtype(), DType::bf16);
  EXPECT_LT(max_rel_error(y16, y), 3e-2);

  ops::Conv2dParams pt = p;
  pt.output_pad_h = 1, pt.output_pad_w = 1;  // output_padding < max(stride, dilation) per dim
  Tensor wt = seeded_uniform({4, 3, 3, 2}, 4, -1, 1, DType::f64);  // (C, O/groups, kh, kw): O = 6
  Tensor yt = ops::conv_transpose2d(noncontiguous_copy(x), noncontiguous_copy(wt), b, pt);
  // Ho = (H-1)s - 2p + d(k-1) + op + 1: (7-1)·2 - 2 + 2 + 1 + 1 = 14, (8-1)·1 - 4 + 2 + 1 + 1 = 7
  EXPECT_EQ(yt.shape(), (Shape{3, 6, 14, 7}));
  EXPECT_LT(max_rel_error(yt, reference_conv(x, wt, b, pt, true, yt.shape())), 1e-14);
}

TEST(Conv, BackwardMatchesFiniteDifferencesInF64) {
  ops::Conv2dParams p;
  p.stride_h = 2, p.stride_w = 1, p.pad_h = 1, p.pad_w = 0, p.dilation_h = 1, p.dilation_w = 2, p.groups = 2;
  Tensor x = seeded_uniform({2, 4, 5, 6}, 5, -1, 1, DType::f64), w = seeded_uniform({4, 2, 3, 2}, 6, -1, 1, DType::f64),
         b = seeded_uniform({4}, 7, -1, 1, DType::f64);
  for (bool transposed : {false, true}) {
    SCOPED_TRACE(transposed ? "conv_transpose2d" : "conv2d");
    ops::Conv2dParams q = p;
    if (transposed) q.output_pad_h = 1;
    auto run = [&](const Tensor& xx, const Tensor& ww, const Tensor& bb) {
      return transposed ? ops::conv_transpose2d(xx, ww, bb, q) : ops::conv2d(xx, ww, bb, q);
    };
    Tensor y = run(x, w, b);
    Tensor gy = seeded_uniform(y.shape(), 8, -1, 1, DType::f64);
    auto g = transposed ? ops::conv_transpose2d_backward(noncontiguous_copy(gy), noncontiguous_copy(x), w, true, q)
                        : ops::conv2d_backward(noncontiguous_copy(gy), noncontiguous_copy(x), w, true, q);
    EXPECT_LT(max_rel_error(g.gx, numeric_vjp([&](const Tensor& t) { return run(t, w, b); }, x, gy)), 1e-8);
    EXPECT_LT(max_rel_error(g.gw, numeric_vjp([&](const Tensor& t) { return run(x, t, b); }, w, gy)), 1e-8);
    EXPECT_LT(max_rel_error(g.gb, numeric_vjp([&](const Tensor& t) { return run(x, w, t); }, b, gy)), 1e-8);
  }
}

TEST(Conv, BadInputsThrow) {
  ops::Conv2dParams p;
  EXPECT_THROW(ops::conv2d(zeros({1, 3, 5, 5}), zeros({4, 2, 3, 3}), std::nullopt, p), Error);  // C mismatch
  EXPECT_THROW(ops::conv2d(zeros({1, 3, 2, 2}), zeros({4, 3, 3, 3}), std::nullopt, p), Error);  // kernel too big
  EXPECT_THROW(ops::conv2d(zeros({3, 5, 5}), zeros({4, 3, 3, 3}), std::nullopt, p), Error);     // not 4-D
  EXPECT_THROW(ops::conv2d(zeros({1, 3, 5, 5}), zeros({4, 3, 3, 3}), zeros({3}), p), Error);    // bias size
  ops::Conv2dParams bad = p;
  bad.stride_h = 0;
  EXPECT_THROW(ops::conv2d(zeros({1, 3, 5, 5}), zeros({4, 3, 3, 3}), std::nullopt, bad), Error);
  ops::Conv2dParams op_ = p;
  op_.output_pad_h = 1;  // stride 1, dilation 1: output padding must be 0
  EXPECT_THROW(ops::conv_transpose2d(zeros({1, 3, 5, 5}), zeros({3, 2, 3, 3}), std::nullopt, op_), Error);
  EXPECT_THROW(ops::conv2d(zeros({1, 3, 5, 5}), zeros({4, 3, 3, 3}), std::nullopt, op_), Error);
}

// Wide images make the patch matrix of one grid row large, so an image is cut into several bands of
// grid rows (the last one shorter), and odd batches split image channels across threads. Forward and
// both gradients against the f64 loops, for strides, padding, dilation, groups, pointwise kernels,
// batch 1 and batch 3 (each image of the batch must also match the same image alone).
TEST(Conv, BandedAndChannelSplitPathsMatchNaiveReference) {
  struct Case {
    const char* name;
    bool transposed;
    Shape x, w;
    ops::Conv2dParams p;
  };
  auto params = [](int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw, int64_t g, int64_t oph,
                   int64_t opw) {
    ops::Conv2dParams p;
    p.stride_h = sh, p.stride_w = sw, p.pad_h = ph, p.pad_w = pw, p.dilation_h = dh, p.dilation_w = dw, p.groups = g;
    p.output_pad_h = oph, p.output_pad_w = opw;
    return p;
  };
  const Case cases[] = {
      {"conv groups, 5 bands", false, {3, 8, 5, 700}, {6, 4, 3, 5}, params(1, 1, 1, 2, 1, 1, 2, 0, 0)},
      {"conv stride+dilation, bands 4+1, batch 1", false, {1, 5, 9, 2000}, {7, 5, 3, 3}, params(2, 3, 2, 1, 2, 1, 1, 0, 0)},
      {"conv pointwise, 3 bands", false, {2, 6, 3, 12000}, {4, 6, 1, 1}, params(1, 1, 0, 0, 1, 1, 1, 0, 0)},
      {"transposed stride, odd batch, bands 2+2+1", true, {3, 6, 5, 1500}, {6, 4, 3, 3}, params(2, 2, 1, 1, 1, 1, 1, 1, 1)},
      {"transposed pointwise, odd batch", true, {3, 4, 3, 9000}, {4, 6, 1, 1}, params(1, 1, 0, 0, 1, 1, 1, 0, 0)},
      {"transposed groups+dilation, batch 1, odd sizes", true, {1, 4, 7, 5}, {4, 3, 2, 3}, params(1, 2, 1, 0, 2, 1, 2, 0, 1)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Tensor x = seeded_uniform(c.x, 21, -1, 1, DType::f64), w = seeded_uniform(c.w, 22, -1, 1, DType::f64);
    auto forward = [&](const Tensor& xx) {
      return c.transposed ? ops::conv_transpose2d(xx, w, std::nullopt, c.p) : ops::conv2d(xx, w, std::nullopt, c.p);
    };
    Tensor y = forward(x);
    EXPECT_LT(max_rel_error(y, reference_conv(x, w, Tensor(), c.p, c.transposed, y.shape())), 1e-12);
    Tensor gy = seeded_uniform(y.shape(), 23, -1, 1, DType::f64);
    auto g = c.transposed ? ops::conv_transpose2d_backward(gy, x, w, false, c.p)
                          : ops::conv2d_backward(gy, x, w, false, c.p);
    // the input gradient is the other convolution applied to gy with the same weight
    EXPECT_LT(max_rel_error(g.gx, reference_conv(gy, w, Tensor(), c.p, !c.transposed, x.shape())), 1e-12);
    EXPECT_LT(max_rel_error(g.gw, c.transposed ? reference_weight_grad(x, gy, w.shape(), c.p)
                                               : reference_weight_grad(gy, x, w.shape(), c.p)),
              1e-12);
    Tensor y32 = c.transposed ? ops::conv_transpose2d(ops::to(x, DType::f32), ops::to(w, DType::f32), std::nullopt, c.p)
                              : ops::conv2d(ops::to(x, DType::f32), ops::to(w, DType::f32), std::nullopt, c.p);
    EXPECT_LT(max_rel_error(y32, y), 1e-5);
    for (int64_t n = 0; n < x.size(0); ++n)
      EXPECT_LT(max_rel_error(forward(ops::contiguous(ops::narrow(x, 0, n, 1))), ops::narrow(y, 0, n, 1)), 1e-14);
  }
}

// Empty batches and zero channels: right shapes, and gradients that are empty sums are exact zeros.
TEST(Conv, EmptyBatchAndZeroChannels) {
  ops::Conv2dParams p;
  p.stride_h = p.stride_w = 2, p.pad_h = p.pad_w = 1, p.output_pad_h = p.output_pad_w = 1;
  Tensor x = seeded_uniform({3, 2, 4, 4}, 31, -1, 1, DType::f32), w = zeros({2, 0, 3, 3});  // O = 0
  Tensor y = ops::conv_transpose2d(x, w, std::nullopt, p);
  EXPECT_EQ(y.shape(), (Shape{3, 0, 8, 8}));
  auto g = ops::conv_transpose2d_backward(zeros({3, 0, 8, 8}), x, w, false, p);
  EXPECT_EQ(g.gx.shape(), x.shape());
  for (double v : to_vector<double>(g.gx)) EXPECT_EQ(v, 0.0);
  EXPECT_EQ(g.gw.shape(), w.shape());

  ops::Conv2dParams q;
  Tensor x0 = zeros({0, 3, 5, 5}), w0 = seeded_uniform({4, 3, 3, 3}, 32, -1, 1, DType::f32);
  EXPECT_EQ(ops::conv2d(x0, w0, std::nullopt, q).shape(), (Shape{0, 4, 3, 3}));
  auto g0 = ops::conv2d_backward(zeros({0, 4, 3, 3}), x0, w0, true, q);
  EXPECT_EQ(g0.gx.shape(), x0.shape());
  for (double v : to_vector<double>(g0.gw)) EXPECT_EQ(v, 0.0);
  for (double v : to_vector<double>(g0.gb)) EXPECT_EQ(v, 0.0);
}
