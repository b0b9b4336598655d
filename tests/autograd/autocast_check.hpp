#pragma once
// Shared by the autocast parity tests (tests/autograd, tests/nn): the fixtures of
// tests/fixtures/autocast (tools/fixtures/autocast.py) and the bf16-aware comparisons.
//
// Tolerances, from bf16's precision (8 significant bits: one ulp is 2^-7 to 2^-8 of a value):
//   - a tensor torch returns in bf16 must match elementwise to within one bf16 ulp, and at least
//     99% of its elements bit for bit. Both sides round the same f32-accumulated values once, so
//     they agree exactly unless a GEMM's f32 summation order (Eigen's vs oneDNN's blocking) moves a
//     value across a bf16 rounding boundary, which flips that element by one ulp;
//   - a tensor computed in f32 from bf16 intermediates (residual sums, fp32-policy ops, losses,
//     every gradient) must match to 2^-10 of its largest magnitude (max_rel_error): a quarter of a
//     bf16 ulp, room for such a flip to propagate, yet 2.6x to 7x below the gap between torch's bf16
//     and fp32 results for every tensor downstream of a bf16 op (the tests check that too, so they
//     would fail if an op ran in the wrong precision).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

#include "tensor/io/safetensors.hpp"
#include "tensor/ops/views.hpp"
#include "tests/tensor/numeric_check.hpp"

namespace cj::test {

constexpr double kAutocastF32Tolerance = 1.0 / 1024;  // 2^-10

inline std::map<std::string, Tensor> load_autocast_fixture(const std::string& name) {
  return io::read_safetensors(std::string(CJ_FIXTURE_DIR) + "/autocast/" + name + ".safetensors").tensors;
}

// The fixture tensor `key`; fails the test (and throws) when absent.
inline const Tensor& fixture_at(const std::map<std::string, Tensor>& f, const std::string& key) {
  auto it = f.find(key);
  if (it == f.end()) {
    ADD_FAILURE() << "autocast fixture has no tensor '" << key << "'";
    fail("autocast fixture has no tensor '", key, "'");
  }
  return it->second;
}

// got vs want, both bf16: ok when every element is within one bf16 ulp of want and >= 99% are equal.
inline ::testing::AssertionResult bf16_matches(const Tensor& got, const Tensor& want) {
  if (got.dtype() != DType::bf16 || want.dtype() != DType::bf16 || got.shape() != want.shape())
    return ::testing::AssertionFailure() << "expected two bf16 tensors of one shape, got " << got.describe()
                                         << " and " << want.describe();
  Tensor g = ops::contiguous(ops::to(got, DType::f64)), w = ops::contiguous(ops::to(want, DType::f64));
  const double* gp = g.data<double>();
  const double* wp = w.data<double>();
  int64_t equal = 0;
  for (int64_t i = 0; i < g.numel(); ++i) {
    int exponent = 0;
    std::frexp(wp[i], &exponent);                  // |want| in [2^(e-1), 2^e): one ulp is 2^(e-8)
    const double ulp = std::ldexp(1.0, std::max(exponent, -125) - 8);
    if (gp[i] == wp[i]) ++equal;
    else if (!(std::abs(gp[i] - wp[i]) <= ulp))
      return ::testing::AssertionFailure() << "element " << i << ": " << gp[i] << " vs torch " << wp[i]
                                           << " (more than one bf16 ulp, " << ulp << ")";
  }
  if (double(equal) < 0.99 * double(g.numel()))
    return ::testing::AssertionFailure() << "only " << equal << " of " << g.numel() << " elements bit-identical";
  return ::testing::AssertionSuccess();
}

// got (f32) vs want within kAutocastF32Tolerance; when `bf16_gap_of` is given (torch's fp32-run
// value of the same tensor), also checks that the tolerance is tight enough to tell the two apart.
inline ::testing::AssertionResult f32_matches(const Tensor& got, const Tensor& want, const Tensor& bf16_gap_of = {}) {
  if (got.dtype() != want.dtype())
    return ::testing::AssertionFailure() << "dtype " << dtype_name(got.dtype()) << ", torch has "
                                         << dtype_name(want.dtype());
  const double err = test::max_rel_error(got, want);
  if (!(err <= kAutocastF32Tolerance))
    return ::testing::AssertionFailure() << "max_rel_error " << err << " > " << kAutocastF32Tolerance;
  if (bf16_gap_of.defined()) {
    const double gap = test::max_rel_error(ops::to(bf16_gap_of, want.dtype()), want);
    if (!(gap > kAutocastF32Tolerance))
      return ::testing::AssertionFailure() << "torch's bf16-vs-fp32 gap " << gap << " is within the tolerance";
  }
  return ::testing::AssertionSuccess() << "max_rel_error " << err;
}

}  // namespace cj::test
