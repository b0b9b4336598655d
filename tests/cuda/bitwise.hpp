#pragma once
// Exact comparison for the CUDA suites that promise the CPU's very values (random draws, optimizer
// kernels): integers byte for byte; floats value for value with the sign of zero, where any NaN
// equals any NaN (x86 and CUDA make NaNs with different payload bits).
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "tests/cuda/gpu_test.hpp"

namespace cj::test {

inline std::vector<unsigned char> bytes_of(const Tensor& t) {
  Tensor c = ops::contiguous(to_cpu(t));
  std::vector<unsigned char> out(std::size_t(c.numel()) * c.element_size());
  if (!out.empty()) std::memcpy(out.data(), c.data_ptr(), out.size());
  return out;
}

// Empty when got and want hold exactly the same values; else where the first difference is.
inline std::string first_difference(const Tensor& got, const Tensor& want) {
  if (got.dtype() != want.dtype() || got.shape() != want.shape()) return "dtype or shape differs";
  if (!is_floating(want.dtype())) return bytes_of(got) == bytes_of(want) ? "" : "integer values differ";
  const std::vector<double> g = values(got), w = values(want);
  for (std::size_t i = 0; i < w.size(); ++i) {
    const bool both_nan = std::isnan(g[i]) && std::isnan(w[i]);
    if (!both_nan && (g[i] != w[i] || std::signbit(g[i]) != std::signbit(w[i])))
      return "element " + std::to_string(i) + ": " + std::to_string(g[i]) + " vs " + std::to_string(w[i]);
  }
  return "";
}

}  // namespace cj::test
