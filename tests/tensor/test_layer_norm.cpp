// layer_norm forward/backward against PyTorch fixtures, a naive f64 loop and f64 finite differences.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "tests/tensor/fixture_cases.hpp"
#include "tests/tensor/numeric_check.hpp"

using namespace cj;
using namespace cj::test;

namespace {

// Naive layer norm of the last D elements of each row, in f64.
Tensor reference_layer_norm(const Tensor& x, int64_t D, const Tensor& w, const Tensor& b, double eps) {
  std::vector<double> xv = to_vector<double>(x), out(xv.size());
  std::vector<double> wv = w.defined() ? to_vector<double>(w) : std::vector<double>(D, 1.0);
  std::vector<double> bv = b.defined() ? to_vector<double>(b) : std::vector<double>(D, 0.0);
  for (size_t r = 0; r < xv.size() / D; ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < D; ++i) mean += xv[r * D + i] / D;
    for (int64_t i = 0; i < D; ++i) var += (xv[r * D + i] - mean) * (xv[r * D + i] - mean) / D;
    for (int64_t i = 0; i < D; ++i) out[r * D + i] = (xv[r * D + i] - mean) / std::sqrt(var + eps) * wv[i] + bv[i];
  }
  return from_vector(out, x.shape());
}

}  // namespace

TEST(LayerNorm, MatchesPyTorchFixtures) {
  FixtureFile f(fixture_path("tensor/layer_norm.safetensors"));
  for (const auto& c : fixture_cases(f)) {
    const std::string n = c["name"];
    SCOPED_TRACE(n);
    const Shape norm = c["normalized_shape"].get<Shape>();
    const bool affine = c["affine"];
    std::optional<Tensor> w, b;
    if (affine) w = f[n + ".weight"], b = f[n + ".bias"];
    auto fwd = ops::layer_norm(f[n + ".x"], norm, w, b, c["eps"].get<double>());
    // where PyTorch's f32 result is itself off by more than 1e-5, the exact (f64) answer is the reference
    EXPECT_LT(max_rel_error(fwd.out, f[n + (f.has(n + ".y_exact") ? ".y_exact" : ".y")]), 1e-5);
    EXPECT_LT(max_rel_error(fwd.mean, f[n + ".mean"]), 1e-5);
    EXPECT_LT(max_rel_error(fwd.rstd, f[n + ".rstd"]), 1e-5);
    auto g = ops::layer_norm_backward(f[n + ".gy"], f[n + ".x"], fwd.mean, fwd.rstd, norm, w, affine);
    EXPECT_LT(max_rel_error(g.gx, f[n + ".gx"]), 1e-4);
    if (affine) {
      EXPECT_LT(max_rel_error(g.gweight, f[n + ".gweight"]), 1e-4);
      EXPECT_LT(max_rel_error(g.gbias, f[n + ".gbias"]), 1e-4);
    } else {
      EXPECT_FALSE(g.gweight.defined());
      EXPECT_FALSE(g.gbias.defined());
    }
  }
}

TEST(LayerNorm, NoncontiguousInputMatchesNaiveReference) {
  Tensor x = seeded_uniform({4, 3, 10}, 1, -2, 3, DType::f64), w = seeded_uniform({3, 10}, 2, 0.5, 1.5, DType::f64),
         b = seeded_uniform({3, 10}, 3, -1, 1, DType::f64);
  Tensor want = reference_layer_norm(x, 30, w, b, 1e-5);
  auto got = ops::layer_norm(noncontiguous_copy(x), {3, 10}, noncontiguous_copy(w), noncontiguous_copy(b));
  EXPECT_EQ(got.out.dtype(), DType::f64);
  EXPECT_EQ(got.mean.shape(), (Shape{4}));
  EXPECT_LT(max_rel_error(got.out, want), 1e-13);
  auto got32 = ops::layer_norm(noncontiguous_copy(ops::to(x, DType::f32)), {3, 10}, ops::to(w, DType::f32),
                               ops::to(b, DType::f32));
  EXPECT_EQ(got32.mean.dtype(), DType::f32);
  EXPECT_LT(max_rel_error(got32.out, want), 1e-6);
  auto got16 = ops::layer_norm(ops::to(x, DType::bf16), {3, 10}, ops::to(w, DType::bf16), ops::to(b, DType::bf16));
  EXPECT_EQ(got16.out.dtype(), DType::bf16);
  EXPECT_LT(max_rel_error(got16.out, want), 2e-2);
}

TEST(LayerNorm, BackwardMatchesFiniteDifferencesInF64) {
  Tensor x = seeded_uniform({3, 2, 5}, 4, -2, 2, DType::f64), w = seeded_uniform({2, 5}, 5, 0.5, 1.5, DType::f64),
         b = seeded_uniform({2, 5}, 6, -1, 1, DType::f64), gy = seeded_uniform({3, 2, 5}, 7, -1, 1, DType::f64);
  const Shape norm{2, 5};
  auto fwd = ops::layer_norm(x, norm, w, b);
  auto g = ops::layer_norm_backward(noncontiguous_copy(gy), noncontiguous_copy(x), fwd.mean, fwd.rstd, norm,
                                    noncontiguous_copy(w), true);
  auto out_of = [&](const Tensor& xx, const Tensor& ww, const Tensor& bb) {
    return ops::layer_norm(xx, norm, ww, bb).out;
  };
  EXPECT_LT(max_rel_error(g.gx, numeric_vjp([&](const Tensor& t) { return out_of(t, w, b); }, x, gy)), 1e-7);
  EXPECT_LT(max_rel_error(g.gweight, numeric_vjp([&](const Tensor& t) { return out_of(x, t, b); }, w, gy)), 1e-7);
  EXPECT_LT(max_rel_error(g.gbias, numeric_vjp([&](const Tensor& t) { return out_of(x, w, t); }, b, gy)), 1e-7);
}

TEST(LayerNorm, BadShapesThrow) {
  EXPECT_THROW(ops::layer_norm(zeros({2, 4}), {3}, std::nullopt, std::nullopt), Error);
  EXPECT_THROW(ops::layer_norm(zeros({2, 4}), {4}, zeros({3}), std::nullopt), Error);
  EXPECT_THROW(ops::layer_norm(zeros({2, 4}), {4}, zeros({4}, DType::f64), std::nullopt), Error);
  EXPECT_THROW(ops::layer_norm(zeros({2, 4}, DType::i64), {4}, std::nullopt, std::nullopt), Error);
  auto fwd = ops::layer_norm(zeros({2, 4}), {4}, std::nullopt, std::nullopt);
  EXPECT_THROW(ops::layer_norm_backward(zeros({2, 5}), zeros({2, 4}), fwd.mean, fwd.rstd, {4}, std::nullopt, false),
               Error);
}

namespace {

// Naive f64 layer_norm backward over rows of D (gweight/gbias summed over rows).
struct NaiveGrads {
  std::vector<double> gx, gw, gb;
};
NaiveGrads reference_layer_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& w, int64_t D, double eps) {
  std::vector<double> xv = to_vector<double>(x), gv = to_vector<double>(gy);
  std::vector<double> wv = w.defined() ? to_vector<double>(w) : std::vector<double>(D, 1.0);
  NaiveGrads r{std::vector<double>(xv.size()), std::vector<double>(D), std::vector<double>(D)};
  for (size_t row = 0; row < xv.size() / D; ++row) {
    const double* xr = &xv[row * D];
    const double* gr = &gv[row * D];
    double mean = 0, var = 0;
    for (int64_t i = 0; i < D; ++i) mean += xr[i] / D;
    for (int64_t i = 0; i < D; ++i) var += (xr[i] - mean) * (xr[i] - mean) / D;
    const double rstd = 1 / std::sqrt(var + eps);
    double mean_g = 0, mean_gx = 0;
    for (int64_t i = 0; i < D; ++i) {
      mean_g += gr[i] * wv[i] / D;
      mean_gx += gr[i] * wv[i] * (xr[i] - mean) * rstd / D;
    }
    for (int64_t i = 0; i < D; ++i) {
      const double xhat = (xr[i] - mean) * rstd;
      r.gx[row * D + i] = rstd * (gr[i] * wv[i] - mean_g - xhat * mean_gx);
      r.gw[i] += gr[i] * xhat;
      r.gb[i] += gr[i];
    }
  }
  return r;
}

}  // namespace

// Enough rows for several threads' chunks, and row lengths that leave tails after the 32-lane
// blocks of the row sums (37: one block; 300: a full 256-element block, one more lane block, a
// tail); every combination of weight / bias the fused backward loop is specialised for.
TEST(LayerNorm, BackwardOfManyOddRowsMatchesNaiveReferenceInEveryAffineCase) {
  for (const int64_t D : {int64_t(37), int64_t(300)}) {
    const int64_t R = 300;
    Tensor x = seeded_uniform({R, D}, 11, -2, 3, DType::f64), w = seeded_uniform({D}, 12, 0.5, 1.5, DType::f64),
           gy = seeded_uniform({R, D}, 13, -1, 1, DType::f64);
    for (bool has_weight : {true, false})
      for (bool has_bias : {true, false}) {
        SCOPED_TRACE("D " + std::to_string(D) + ", weight " + (has_weight ? "yes" : "no") + ", bias " + (has_bias ? "yes" : "no"));
        std::optional<Tensor> wopt = has_weight ? std::optional<Tensor>(w) : std::nullopt;
        NaiveGrads want = reference_layer_norm_backward(gy, x, has_weight ? w : Tensor(), D, 1e-5);
        for (DType dt : {DType::f64, DType::f32}) {
          Tensor xd = ops::to(x, dt), gyd = ops::to(gy, dt);
          std::optional<Tensor> wd = wopt ? std::optional<Tensor>(ops::to(*wopt, dt)) : std::nullopt;
          auto fwd = ops::layer_norm(xd, {D}, wd, std::nullopt);
          auto g = ops::layer_norm_backward(gyd, xd, fwd.mean, fwd.rstd, {D}, wd, has_bias);
          const double tol = dt == DType::f64 ? 1e-12 : 1e-5;
          EXPECT_LT(max_rel_error(g.gx, from_vector(want.gx, {R, D})), tol);
          EXPECT_EQ(g.gweight.defined(), has_weight);
          if (has_weight) {
            EXPECT_LT(max_rel_error(g.gweight, from_vector(want.gw, {D})), tol);
          }
          EXPECT_EQ(g.gbias.defined(), has_bias);
          if (has_bias) {
            EXPECT_LT(max_rel_error(g.gbias, from_vector(want.gb, {D})), tol);
          }
        }
      }
  }
}
