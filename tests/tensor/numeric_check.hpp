#pragma once
// Shared helpers for numeric kernel tests: seeded inputs that do not depend on the library's RNG,
// non-contiguous copies of a tensor, and the max_rel_error metric the tolerances are stated in.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "tensor/ops.hpp"

namespace cj::test {

// Uniform values in [lo, hi) from a fixed 64-bit LCG (reproducible on every platform).
inline Tensor seeded_uniform(const Shape& shape, uint64_t seed, double lo = -1.0, double hi = 1.0,
                             DType dtype = DType::f32) {
  std::vector<double> v(shape_numel(shape));
  uint64_t state = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (auto& x : v) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    x = lo + (hi - lo) * double(state >> 11) / 9007199254740992.0;  // 53 random bits
  }
  return ops::to(from_vector(v, shape), dtype);
}

// The same values as t in a non-contiguous layout: every dim is strided by 2 inside a larger buffer
// and the two last dims are stored transposed.
inline Tensor noncontiguous_copy(const Tensor& t) {
  if (t.dim() == 0) return ops::clone(t);
  Shape big = t.shape();
  for (auto& s : big) s *= 2;
  if (t.dim() >= 2) std::swap(big[big.size() - 1], big[big.size() - 2]);
  Tensor buffer = zeros(big, t.dtype());
  Tensor v = buffer;
  if (t.dim() >= 2) v = ops::transpose(v, -1, -2);
  for (int64_t d = 0; d < t.dim(); ++d) v = ops::slice(v, d, 0, v.size(d), 2);
  ops::copy_(v, t);
  return v;
}

// max |a - b| / max |b|: the error relative to the reference's scale.
inline double max_rel_error(const Tensor& got, const Tensor& want) {
  std::vector<double> a = to_vector<double>(got), b = to_vector<double>(want);
  if (a.size() != b.size()) return INFINITY;
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) != std::isnan(b[i])) return INFINITY;
    if (std::isnan(b[i])) continue;
    diff = std::max(diff, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return scale == 0 ? diff : diff / scale;
}

// max |a - b| (infinite when the element counts differ).
inline double max_abs_error(const Tensor& got, const Tensor& want) {
  std::vector<double> a = to_vector<double>(got), b = to_vector<double>(want);
  if (a.size() != b.size()) return INFINITY;
  double diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = std::max(diff, std::abs(a[i] - b[i]));
  return diff;
}

}  // namespace cj::test

namespace cj::test {

// Central-difference vector-Jacobian product Σ_o gy[o] · ∂f(x)[o]/∂x[i] in f64: the reference every
// analytic backward kernel is checked against. x must be a contiguous f64 tensor; f must not keep it.
template <typename F>
Tensor numeric_vjp(F&& f, const Tensor& x, const Tensor& gy, double h = 1e-6) {
  Tensor xp = ops::clone(x);
  double* p = xp.data<double>();
  const std::vector<double> g = to_vector<double>(gy);
  std::vector<double> out(x.numel());
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double saved = p[i];
    p[i] = saved + h;
    std::vector<double> up = to_vector<double>(f(xp));
    p[i] = saved - h;
    std::vector<double> down = to_vector<double>(f(xp));
    p[i] = saved;
    double s = 0;
    for (size_t o = 0; o < g.size(); ++o) s += g[o] * (up[o] - down[o]);
    out[i] = s / (2 * h);
  }
  return from_vector(out, x.shape());
}

}  // namespace cj::test
