#pragma once
// Matrix products on Eigen's multithreaded GEMM (CPU) / cuBLASLt (CUDA).
#include <optional>

#include "tensor/tensor.hpp"

namespace cj::ops {

Tensor mm(const Tensor& a, const Tensor& b);   // a: (M, K), b: (K, N) -> (M, N)
Tensor bmm(const Tensor& a, const Tensor& b);  // a: (B, M, K), b: (B, K, N) -> (B, M, N)
// torch.matmul: 1-D/2-D/N-D with batch broadcasting.
Tensor matmul(const Tensor& a, const Tensor& b);
// x: (..., in), weight: (out, in), bias: (out) -> (..., out) = x · weightᵀ + bias
Tensor linear(const Tensor& x, const Tensor& weight, const std::optional<Tensor>& bias = std::nullopt);

}  // namespace cj::ops
