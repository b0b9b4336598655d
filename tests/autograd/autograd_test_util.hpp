#pragma once
// Helpers for the autograd suites: seeded f64 inputs that require grad, seeded random shapes, and
// an assertion that prints gradcheck's message (the worst element, analytic vs numeric).
#include <gtest/gtest.h>

#include <cstdint>
#include <random>

#include "autograd/ops.hpp"
#include "tests/tensor/numeric_check.hpp"

namespace cj::test {

// A leaf requiring grad with uniform values in [lo, hi).
inline Tensor leaf(const Shape& shape, uint64_t seed, double lo = -1.0, double hi = 1.0) {
  Tensor t = seeded_uniform(shape, seed, lo, hi, DType::f64);
  t.requires_grad_(true);
  return t;
}

// A shape of `ndim` dims with sizes in [1, max_size], drawn from `rng`.
inline Shape random_shape(std::mt19937& rng, int64_t ndim, int64_t max_size = 4) {
  std::uniform_int_distribution<int64_t> size(1, max_size);
  Shape s(ndim);
  for (auto& d : s) d = size(rng);
  return s;
}

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

}  // namespace cj::test

#define EXPECT_GRADCHECK(fn, ...)                                \
  do {                                                           \
    ::cj::GradcheckResult _r = ::cj::gradcheck(fn, __VA_ARGS__); \
    EXPECT_TRUE(_r.ok) << _r.message;                            \
  } while (0)
