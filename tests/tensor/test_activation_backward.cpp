// gelu_backward and embedding_backward against f64 finite differences / a naive loop.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/tensor/numeric_check.hpp"

using namespace cj;
using namespace cj::test;

namespace {

Tensor reference_gelu(const Tensor& x, ops::GeluApprox approx) {  // f64 loop
  std::vector<double> v = to_vector<double>(x);
  for (double& a : v) {
    if (approx == ops::GeluApprox::none) a = 0.5 * a * (1 + std::erf(a / std::sqrt(2.0)));
    else a = 0.5 * a * (1 + std::tanh(std::sqrt(2 / M_PI) * (a + 0.044715 * a * a * a)));
  }
  return from_vector(v, x.shape());
}

}  // namespace

TEST(GeluBackward, MatchesFiniteDifferencesForBothApproximations) {
  Tensor x = seeded_uniform({4, 7}, 1, -4, 4, DType::f64), gy = seeded_uniform({4, 7}, 2, -1, 1, DType::f64);
  for (auto approx : {ops::GeluApprox::none, ops::GeluApprox::tanh}) {
    Tensor want = numeric_vjp([&](const Tensor& t) { return reference_gelu(t, approx); }, x, gy);
    EXPECT_LT(max_rel_error(ops::gelu_backward(noncontiguous_copy(gy), noncontiguous_copy(x), approx), want), 1e-8);
    Tensor got32 = ops::gelu_backward(ops::to(gy, DType::f32), ops::to(x, DType::f32), approx);
    EXPECT_EQ(got32.dtype(), DType::f32);
    EXPECT_LT(max_rel_error(got32, want), 1e-6);
  }
  EXPECT_THROW(ops::gelu_backward(zeros({3}), zeros({4})), Error);
}

TEST(EmbeddingBackward, AccumulatesRepeatedIndices) {
  Tensor index = from_vector(std::vector<int64_t>{2, 0, 2, 2, 3, 0}, {2, 3});
  Tensor gy = seeded_uniform({2, 3, 4}, 3, -1, 1, DType::f64);
  Tensor got = ops::embedding_backward(noncontiguous_copy(gy), noncontiguous_copy(index), 5);
  EXPECT_EQ(got.shape(), (Shape{5, 4}));
  std::vector<double> g = to_vector<double>(gy), want(20, 0.0);
  const int64_t idx[6] = {2, 0, 2, 2, 3, 0};
  for (int p = 0; p < 6; ++p)
    for (int d = 0; d < 4; ++d) want[idx[p] * 4 + d] += g[p * 4 + d];
  EXPECT_LT(max_rel_error(got, from_vector(want, {5, 4})), 1e-15);
  EXPECT_EQ(ops::embedding_backward(ops::to(gy, DType::f32), ops::to(index, DType::i32), 5).dtype(), DType::f32);
  EXPECT_THROW(ops::embedding_backward(gy, index, 3), Error);  // index 3 out of range
  EXPECT_THROW(ops::embedding_backward(zeros({2, 4}), index, 5), Error);
}
