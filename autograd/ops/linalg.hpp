#pragma once
// Differentiable matrix products (same names and meanings as cj::ops in tensor/ops/linalg.hpp).
#include <optional>

#include "tensor/tensor.hpp"

namespace cj {

Tensor mm(const Tensor& a, const Tensor& b);      // a: (M, K), b: (K, N) -> (M, N)
Tensor bmm(const Tensor& a, const Tensor& b);     // a: (B, M, K), b: (B, K, N) -> (B, M, N)
Tensor matmul(const Tensor& a, const Tensor& b);  // 1-D/2-D/N-D with batch broadcasting
// x: (..., in), weight: (out, in), bias: (out) -> (..., out)
Tensor linear(const Tensor& x, const Tensor& weight, const std::optional<Tensor>& bias = std::nullopt);

}  // namespace cj
