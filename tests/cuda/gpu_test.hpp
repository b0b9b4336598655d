#pragma once
// Shared by the CUDA suites: skipping without a GPU, random inputs made on the CPU, and the
// normalised error max|got - want| / max|want| that every CUDA-vs-CPU comparison uses.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "cuda/device.hpp"
#include "cuda/ops.hpp"
#include "tensor/ops.hpp"

namespace cj::test {

// Every GPU test starts with this: skips, saying why, where no device is visible.
#define CJ_REQUIRE_GPU()                                                 \
  do {                                                                   \
    static const auto cj_query_ = ::cj::cuda::query_devices();           \
    if (cj_query_.devices.empty()) GTEST_SKIP() << "no GPU: " << cj_query_.why_none; \
    ::cj::cuda::set_allow_tf32(false);                                   \
  } while (0)

inline const std::vector<DType>& float_dtypes() {
  static const std::vector<DType> all = {DType::f32, DType::f64, DType::bf16, DType::f16};
  return all;
}

// Tolerances on the normalised error: fp32 (and f64) 1e-5, 16-bit floats 1e-2.
inline double tolerance(DType t) { return t == DType::bf16 || t == DType::f16 ? 1e-2 : 1e-5; }

// Uniform values in [lo, hi), made as f32 on the CPU and rounded to dtype there.
inline Tensor random_cpu(const Shape& shape, DType dtype, uint32_t seed, float lo = -2.f, float hi = 2.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(shape_numel(shape));
  for (auto& x : v) x = dist(rng);
  return ops::to(from_vector(v, shape), dtype);
}

inline Tensor to_gpu(const Tensor& t) { return ops::to(t, Device::cuda()); }
inline Tensor to_cpu(const Tensor& t) { return ops::to(t, Device::cpu()); }

// Row-major values of any tensor (either device), as doubles.
inline std::vector<double> values(const Tensor& t) { return to_vector<double>(to_cpu(t)); }

inline double normalized_error(const std::vector<double>& got, const std::vector<double>& want) {
  if (got.size() != want.size()) return INFINITY;
  double worst = 0, scale = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(got[i]) != std::isnan(want[i])) return INFINITY;
    if (std::isnan(want[i])) continue;
    // Infinities must match exactly and do not enter the scale: an infinite scale would make the
    // error of every other element 0 (and inf - inf is NaN, which fmax drops).
    if (std::isinf(want[i]) || std::isinf(got[i])) {
      if (got[i] != want[i]) return INFINITY;
      continue;
    }
    worst = std::fmax(worst, std::fabs(got[i] - want[i]));
    scale = std::fmax(scale, std::fabs(want[i]));
  }
  return worst / std::fmax(scale, 1e-12);
}

// Expects the GPU tensor to match the reference values within dtype's tolerance.
inline void expect_close(const Tensor& got, const std::vector<double>& want, DType dtype, const std::string& what) {
  EXPECT_LE(normalized_error(values(got), want), tolerance(dtype)) << what << " in " << dtype_name(dtype);
}

}  // namespace cj::test
