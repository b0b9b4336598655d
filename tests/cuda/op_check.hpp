#pragma once
// One CUDA-vs-CPU check for any op: run it on CPU inputs and on GPU copies of them, then compare
// dtype, shape and values (normalised error; 0 for ops that only move or compare values).
#include <functional>
#include <string>
#include <vector>

#include "tests/cuda/gpu_test.hpp"

namespace cj::test {

using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;

// Values for any dtype: uniform floats in [lo, hi), truncated for integer dtypes, 0/1 for bool.
inline Tensor sample_cpu(const Shape& shape, DType dtype, uint32_t seed, float lo = -4.f, float hi = 4.f) {
  Tensor f = random_cpu(shape, DType::f32, seed, dtype == DType::u8 ? 0.f : lo, hi);
  if (dtype == DType::b8) return ops::gt(f, (lo + hi) / 2);
  return ops::to(f, dtype);  // integers: truncated, so small and with repeats
}

inline void expect_op_matches_cpu(const std::string& what, const OpFn& op, const std::vector<Tensor>& cpu_inputs,
                                  double tol) {
  SCOPED_TRACE(what);
  std::vector<Tensor> gpu_inputs;
  for (const Tensor& t : cpu_inputs) gpu_inputs.push_back(to_gpu(t));
  Tensor want = op(cpu_inputs);
  Tensor got = op(gpu_inputs);
  ASSERT_TRUE(got.is_cuda());
  EXPECT_EQ(got.dtype(), want.dtype());
  ASSERT_EQ(got.shape(), want.shape());
  EXPECT_LE(normalized_error(values(got), values(want)), tol);
}

}  // namespace cj::test
