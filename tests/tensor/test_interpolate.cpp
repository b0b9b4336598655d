// interpolate forward/backward against PyTorch fixtures (nearest, bilinear, bicubic, align_corners,
// antialias, up and down, explicit scale factors), a naive f64 loop and f64 finite differences.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/tensor/fixture_cases.hpp"
#include "tests/tensor/numeric_check.hpp"

using namespace cj;
using namespace cj::test;

namespace {

ops::InterpolateParams params_of(const nlohmann::json& c) {
  ops::InterpolateParams p;
  p.out_h = c["out_size"][0], p.out_w = c["out_size"][1];
  const std::string mode = c["mode"];
  p.mode = mode == "nearest" ? ops::InterpMode::nearest
           : mode == "bilinear" ? ops::InterpMode::bilinear : ops::InterpMode::bicubic;
  p.align_corners = c["align_corners"];
  p.antialias = c["antialias"];
  if (!c["scale_factor"].is_null()) p.scale_h = c["scale_factor"][0].get<double>(), p.scale_w = c["scale_factor"][1].get<double>();
  return p;
}

// Bilinear / bicubic without antialiasing written as the textbook 2-D formula, in f64.
Tensor reference_interpolate(const Tensor& x, int64_t Ho, int64_t Wo, bool cubic, bool align_corners) {
  const int64_t P = x.size(0) * x.size(1), H = x.size(2), W = x.size(3);
  std::vector<double> xv = to_vector<double>(x), out(P * Ho * Wo);
  auto coord = [&](int64_t i, int64_t in, int64_t o) {
    if (align_corners) return o > 1 ? double(i) * (in - 1) / (o - 1) : 0.0;
    double s = (i + 0.5) * double(in) / o - 0.5;
    return cubic ? s : std::max(s, 0.0);
  };
  auto kernel = [&](double t) {  // weight of an input at distance t
    t = std::abs(t);
    if (!cubic) return std::max(0.0, 1 - t);
    const double A = -0.75;
    if (t <= 1) return ((A + 2) * t - (A + 3)) * t * t + 1;
    if (t < 2) return ((A * t - 5 * A) * t + 8 * A) * t - 4 * A;
    return 0.0;
  };
  for (int64_t p = 0; p < P; ++p)
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ++ow) {
        const double sy = coord(oh, H, Ho), sx = coord(ow, W, Wo);
        const int64_t by = int64_t(std::floor(sy)), bx = int64_t(std::floor(sx));
        double acc = 0;
        for (int64_t a = by - 1; a <= by + 2; ++a)
          for (int64_t b = bx - 1; b <= bx + 2; ++b) {
            const double w = kernel(sy - a) * kernel(sx - b);
            acc += w * xv[(p * H + std::clamp<int64_t>(a, 0, H - 1)) * W + std::clamp<int64_t>(b, 0, W - 1)];
          }
        out[(p * Ho + oh) * Wo + ow] = acc;
      }
  return from_vector(out, {x.size(0), x.size(1), Ho, Wo});
}

}  // namespace

TEST(Interpolate, MatchesPyTorchFixtures) {
  FixtureFile f(fixture_path("tensor/interpolate.safetensors"));
  int cases = 0;
  for (const auto& c : fixture_cases(f)) {
    const std::string n = c["name"];
    SCOPED_TRACE(n);
    const auto p = params_of(c);
    const Tensor& x = f[n + ".x"];
    EXPECT_LT(max_rel_error(ops::interpolate(x, p), f[n + ".y"]), 1e-5);
    EXPECT_LT(max_rel_error(ops::interpolate_backward(f[n + ".gy"], x.shape(), p), f[n + ".gx"]), 1e-4);
    ++cases;
  }
  EXPECT_GE(cases, 18);
}

TEST(Interpolate, NoncontiguousInputMatchesNaiveReference) {
  Tensor x = seeded_uniform({2, 3, 6, 5}, 1, -1, 1, DType::f64);
  for (bool cubic : {false, true})
    for (bool ac : {false, true})
      for (auto [Ho, Wo] : {std::pair<int64_t, int64_t>{11, 13}, {4, 3}}) {
        SCOPED_TRACE(std::string(cubic ? "bicubic" : "bilinear") + (ac ? " align_corners " : " ") + std::to_string(Ho));
        ops::InterpolateParams p;
        p.out_h = Ho, p.out_w = Wo, p.align_corners = ac;
        p.mode = cubic ? ops::InterpMode::bicubic : ops::InterpMode::bilinear;
        EXPECT_LT(max_rel_error(ops::interpolate(noncontiguous_copy(x), p), reference_interpolate(x, Ho, Wo, cubic, ac)),
                  1e-14);
      }
  ops::InterpolateParams nearest;
  nearest.mode = ops::InterpMode::nearest, nearest.out_h = 3, nearest.out_w = 10;
  Tensor y = ops::interpolate(noncontiguous_copy(x), nearest);
  EXPECT_EQ(y.at({1, 2, 2, 9}), x.at({1, 2, 4, 4}));  // floor(2·6/3) = 4, floor(9·5/10) = 4
  EXPECT_EQ(y.at({0, 1, 1, 3}), x.at({0, 1, 2, 1}));
  ops::InterpolateParams bf = nearest;
  bf.mode = ops::InterpMode::bilinear;
  EXPECT_EQ(ops::interpolate(ops::to(x, DType::bf16), bf).dtype(), DType::bf16);
}

TEST(Interpolate, BackwardMatchesFiniteDifferencesInF64) {
  Tensor x = seeded_uniform({1, 2, 5, 6}, 2, -1, 1, DType::f64);
  struct Case { ops::InterpMode mode; bool ac, aa; int64_t Ho, Wo; };
  for (const Case& c : {Case{ops::InterpMode::nearest, false, false, 7, 4}, Case{ops::InterpMode::bilinear, true, false, 8, 9},
                        Case{ops::InterpMode::bicubic, false, false, 9, 4}, Case{ops::InterpMode::bilinear, false, true, 3, 2},
                        Case{ops::InterpMode::bicubic, false, true, 2, 4}}) {
    ops::InterpolateParams p;
    p.mode = c.mode, p.align_corners = c.ac, p.antialias = c.aa, p.out_h = c.Ho, p.out_w = c.Wo;
    Tensor gy = seeded_uniform({1, 2, c.Ho, c.Wo}, 3, -1, 1, DType::f64);
    Tensor want = numeric_vjp([&](const Tensor& t) { return ops::interpolate(t, p); }, x, gy);
    EXPECT_LT(max_rel_error(ops::interpolate_backward(noncontiguous_copy(gy), x.shape(), p), want), 1e-8);
  }
}

TEST(Interpolate, BadInputsThrow) {
  ops::InterpolateParams p;
  p.out_h = 4, p.out_w = 4;
  EXPECT_THROW(ops::interpolate(zeros({2, 3, 4}), p), Error);
  p.out_h = 0;
  EXPECT_THROW(ops::interpolate(zeros({1, 2, 3, 4}), p), Error);
  p.out_h = 4, p.mode = ops::InterpMode::nearest, p.align_corners = true;
  EXPECT_THROW(ops::interpolate(zeros({1, 2, 3, 4}), p), Error);
  p.align_corners = false;
  EXPECT_THROW(ops::interpolate_backward(zeros({1, 2, 5, 4}), {1, 2, 3, 4}, p), Error);
}
