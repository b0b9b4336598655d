#pragma once
// The kernel sandbox's harness (llm.c's dev/cuda): each sandbox_<kernel> program keeps a hot
// kernel's versions side by side, checks every version against a CPU reference (the normalised error
// of tests/cuda/gpu_test.hpp, 1e-5 fp32 / 1e-2 16-bit) and times it (CUDA events around kLaunches
// launches, median of kSamples after warm-up, TF32 off), printing one table. The winner goes into
// cuda/. Exit status 1 when a version is wrong, 0 otherwise (also without a GPU: it says so).
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "cuda/check.hpp"
#include "cuda/device.hpp"
#include "cuda/ops.hpp"
#include "tensor/ops.hpp"

namespace cj::sandbox {

constexpr int kLaunches = 10, kSamples = 10;

// False (after saying why) where no GPU is visible.
inline bool gpu_present(const char* program) {
  auto q = cuda::query_devices();
  if (q.devices.empty()) {
    std::printf("%s: skipped, no GPU: %s\n", program, q.why_none.c_str());
    return false;
  }
  cuda::set_allow_tf32(false);
  cudaDeviceProp prop;
  CJ_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("%s on %s, median of %d x %d launches, TF32 off\n", program, prop.name, kSamples, kLaunches);
  return true;
}

// GPU milliseconds per launch of fn: the median over kSamples of kLaunches back-to-back launches.
inline double median_ms(const std::function<void()>& fn) {
  cudaEvent_t start, stop;
  CJ_CUDA_CHECK(cudaEventCreate(&start));
  CJ_CUDA_CHECK(cudaEventCreate(&stop));
  for (int i = 0; i < 3; ++i) fn();
  std::vector<float> ms(kSamples);
  for (float& m : ms) {
    CJ_CUDA_CHECK(cudaEventRecord(start));
    for (int i = 0; i < kLaunches; ++i) fn();
    CJ_CUDA_CHECK(cudaEventRecord(stop));
    CJ_CUDA_CHECK(cudaEventSynchronize(stop));
    CJ_CUDA_CHECK(cudaEventElapsedTime(&m, start, stop));
  }
  CJ_CUDA_CHECK(cudaEventDestroy(start));
  CJ_CUDA_CHECK(cudaEventDestroy(stop));
  std::nth_element(ms.begin(), ms.begin() + kSamples / 2, ms.end());
  return ms[kSamples / 2] / kLaunches;
}

// Uniform values in [-1, 1) made on the CPU, rounded to dtype, on `device`.
inline Tensor random(const Shape& shape, DType dtype, uint32_t seed, Device device) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> v(shape_numel(shape));
  for (auto& x : v) x = dist(rng);
  return ops::to(ops::to(from_vector(v, shape), dtype), device);
}

// max |got - want| / max |want| (either device; NaN where the reference has NaN is skipped).
inline double normalized_error(const Tensor& got, const Tensor& want) {
  std::vector<double> a = to_vector<double>(ops::to(got, Device::cpu())),
                      b = to_vector<double>(ops::to(want, Device::cpu()));
  if (a.size() != b.size()) return INFINITY;
  double worst = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(b[i])) continue;
    if (std::isnan(a[i])) return INFINITY;
    worst = std::max(worst, std::fabs(a[i] - b[i]));
    scale = std::max(scale, std::fabs(b[i]));
  }
  return worst / std::max(scale, 1e-12);
}

inline double tolerance(DType t) { return t == DType::bf16 || t == DType::f16 ? 1e-2 : 1e-5; }

// "ok" or "WRONG" for an error against dtype's tolerance; remembers any wrong one in `failed`.
inline const char* verdict(double err, DType t, bool& failed) {
  const bool ok = err <= tolerance(t);
  failed |= !ok;
  return ok ? "ok" : "WRONG";
}

}  // namespace cj::sandbox
