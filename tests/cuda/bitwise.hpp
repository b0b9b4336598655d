#pragma once
// Bitwise comparison for the CUDA suites that promise the CPU's exact values (random draws,
// optimizer kernels): the raw bytes of a tensor's elements in row-major order (NaN-safe).
#include <cstring>
#include <vector>

#include "tests/cuda/gpu_test.hpp"

namespace cj::test {

inline std::vector<unsigned char> bytes_of(const Tensor& t) {
  Tensor c = ops::contiguous(to_cpu(t));
  std::vector<unsigned char> out(std::size_t(c.numel()) * c.element_size());
  if (!out.empty()) std::memcpy(out.data(), c.data_ptr(), out.size());
  return out;
}

}  // namespace cj::test
