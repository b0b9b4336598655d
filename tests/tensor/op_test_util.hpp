#pragma once
// Shared helpers for the op tests: deterministic inputs in several memory layouts, f64 reference
// extraction, and per-dtype comparison. Inputs come from a local generator so that these tests do
// not depend on cj::rand.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tensor/ops.hpp"

namespace cj::test {

// Every dtype an arithmetic op takes, and the floating ones.
inline const std::vector<DType> kNumericDTypes = {DType::f32, DType::f64, DType::bf16, DType::f16,
                                                  DType::i32, DType::i64, DType::u8};
inline const std::vector<DType> kFloatDTypes = {DType::f32, DType::f64, DType::bf16, DType::f16};

// How an input tensor sits in memory: the op must give the same values for each.
enum class Layout { contiguous, permuted, sliced, broadcast };
inline const std::vector<Layout> kLayouts = {Layout::contiguous, Layout::permuted, Layout::sliced,
                                             Layout::broadcast};
inline const char* layout_name(Layout l) {
  switch (l) {
    case Layout::contiguous: return "contiguous";
    case Layout::permuted: return "permuted";
    case Layout::sliced: return "sliced";
    case Layout::broadcast: return "broadcast";
  }
  return "?";
}

// n values from a 64-bit LCG: floats in [lo, hi); for integer dtypes rounded to integers.
inline std::vector<double> test_values(int64_t n, DType dt, uint64_t seed, double lo, double hi) {
  std::vector<double> v(n);
  uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (auto& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    double u = double(s >> 11) * 0x1.0p-53;
    x = lo + (hi - lo) * u;
    if (dt == DType::b8) x = u < 0.5 ? 0 : 1;
    else if (!is_floating(dt)) x = std::floor(x);
  }
  return v;
}

// Default value range for a dtype: signed values for signed types, small enough for products.
inline std::pair<double, double> default_range(DType dt) {
  if (dt == DType::u8) return {0, 16};
  return {-4, 4};
}

// A tensor of `shape` (rank >= 1) and dtype `dt` laid out as `layout`, filled deterministically.
inline Tensor make_input(const Shape& shape, DType dt, Layout layout, uint64_t seed, double lo, double hi) {
  Shape base = shape;
  const int64_t nd = int64_t(shape.size());
  switch (layout) {
    case Layout::contiguous: break;
    case Layout::permuted: base.assign(shape.rbegin(), shape.rend()); break;
    case Layout::sliced: base.back() = 2 * shape.back(); break;
    case Layout::broadcast: base[nd > 1 ? 1 : 0] = 1; break;
  }
  std::vector<double> v = test_values(shape_numel(base), dt, seed, lo, hi);
  Tensor t = ops::to(from_vector(v, base), dt);
  switch (layout) {
    case Layout::contiguous: return t;
    case Layout::permuted: {
      Shape rev(nd);
      for (int64_t i = 0; i < nd; ++i) rev[i] = nd - 1 - i;
      return ops::permute(t, rev);
    }
    case Layout::sliced: return ops::slice(t, nd - 1, 0, base.back(), 2);
    case Layout::broadcast: return ops::expand(t, shape);
  }
  return t;
}

inline Tensor make_input(const Shape& shape, DType dt, Layout layout, uint64_t seed) {
  auto [lo, hi] = default_range(dt);
  return make_input(shape, dt, layout, seed, lo, hi);
}

inline std::vector<double> doubles(const Tensor& t) { return to_vector<double>(t); }

// Relative tolerance for a result stored in dt after computing in float/double: a couple of ulps.
inline double rel_tol(DType dt) {
  switch (dt) {
    case DType::f64: return 1e-13;
    case DType::f32: return 3e-6;
    case DType::bf16: return 1.6e-2;  // 2 ulp of an 8-bit mantissa
    case DType::f16: return 2e-3;
    default: return 0;
  }
}

// Expects got (any layout) to match want elementwise within dt's tolerance; NaN matches NaN.
inline void expect_values(const Tensor& got, const std::vector<double>& want, DType dt, double abs_tol = 0) {
  std::vector<double> g = doubles(got);
  ASSERT_EQ(g.size(), want.size());
  const double rt = rel_tol(dt);
  int failures = 0;
  for (size_t i = 0; i < g.size() && failures < 5; ++i) {
    if (std::isnan(want[i])) {
      if (!std::isnan(g[i])) ++failures, ADD_FAILURE() << "element " << i << ": got " << g[i] << ", want nan";
      continue;
    }
    if (g[i] == want[i]) continue;
    double tol = abs_tol + rt * std::fabs(want[i]);
    if (!(std::fabs(g[i] - want[i]) <= tol))
      ++failures, ADD_FAILURE() << "element " << i << ": got " << g[i] << ", want " << want[i] << " (tol " << tol
                                << ")";
  }
}

// The message of the cj::Error that f throws (fails the test if none is thrown).
template <typename F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected cj::Error";
  return "";
}

}  // namespace cj::test
