#pragma once
// The CUDA kernels, with exactly the signatures of the cj::ops functions they serve (register.cpp
// registers each under the op's name, so ops::add on a CUDA tensor lands in cuda::add). Callable
// directly too: the tests compare them with the CPU results.
#include <optional>

#include "tensor/ops/elementwise.hpp"
#include "tensor/ops/nn_kernels.hpp"
#include "tensor/ops/reduction.hpp"
#include "tensor/tensor.hpp"

namespace cj::cuda {

using ops::Dims;
using ops::GeluApprox;

// ---- transfers and fills (copy.cu): any dtype pair, broadcasting, either side on the host -------
void copy_(const Tensor& dst, const Tensor& src);
void fill_(const Tensor& self, Scalar value);

// ---- elementwise (elementwise.cu) -------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b, Scalar alpha);
Tensor sub(const Tensor& a, const Tensor& b, Scalar alpha);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add_scalar(const Tensor& a, Scalar b);
Tensor sub_scalar(const Tensor& a, Scalar b);
Tensor mul_scalar(const Tensor& a, Scalar b);
Tensor div_scalar(const Tensor& a, Scalar b);
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor gelu(const Tensor& x, GeluApprox approx);
Tensor gelu_backward(const Tensor& gy, const Tensor& x, GeluApprox approx);

// ---- reductions (reduce.cu); floating dtypes -----------------------------------------------------
Tensor sum(const Tensor& x, const Dims& dims, bool keepdim);
Tensor mean(const Tensor& x, const Dims& dims, bool keepdim);
Tensor amax(const Tensor& x, const Dims& dims, bool keepdim);

// ---- softmax family (softmax.cu) --------------------------------------------------------------
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
Tensor softmax_backward(const Tensor& y, const Tensor& gy, int64_t dim);
Tensor log_softmax_backward(const Tensor& y, const Tensor& gy, int64_t dim);
// Softmax over the last dim of a contiguous x that also writes each row's log-sum-exp (f32) into
// lse (numel = rows); attention uses it. x: (..., L) -> (..., L)
Tensor softmax_last_dim_with_lse(const Tensor& x, const Tensor& lse);

// ---- layer norm (layer_norm.cu) ----------------------------------------------------------------
ops::LayerNormOut layer_norm(const Tensor& x, const Shape& normalized_shape, const std::optional<Tensor>& weight,
                             const std::optional<Tensor>& bias, double eps);
ops::LayerNormGrads layer_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                                        const Shape& normalized_shape, const std::optional<Tensor>& weight,
                                        bool has_bias);

// ---- GEMM through cuBLASLt (gemm.cpp) ------------------------------------------------------------
// TF32 for f32 GEMMs: off by default (full fp32 products), as PyTorch's matmul default.
void set_allow_tf32(bool allow);
bool allow_tf32();
Tensor mm(const Tensor& a, const Tensor& b);
Tensor bmm(const Tensor& a, const Tensor& b);
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor linear(const Tensor& x, const Tensor& weight, const std::optional<Tensor>& bias);
// alpha · a · b over a batch: a (B, M, K), b (B, K, N) -> (B, M, N); any strides cuBLASLt can read.
Tensor bmm_scaled(const Tensor& a, const Tensor& b, double alpha);

// ---- attention (attention.cu): fused flash kernels where they apply, GEMM + softmax otherwise ----
// automatic: flash for head dims 8/18/32/64 (Ev = E) in f32/bf16/f16, GEMM otherwise; flash: refuse
// (throw) what flash cannot take; gemm: always GEMM. Default from CJ_ATTENTION=auto|flash|gemm.
enum class AttentionPath { automatic, flash, gemm };
void set_attention_path(AttentionPath path);
AttentionPath attention_path();
ops::AttentionOut scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                               const std::optional<Tensor>& attn_mask, std::optional<double> scale);
ops::AttentionGrads scaled_dot_product_attention_backward(const Tensor& gout, const Tensor& q, const Tensor& k,
                                                          const Tensor& v, const Tensor& out, const Tensor& lse,
                                                          const std::optional<Tensor>& attn_mask,
                                                          std::optional<double> scale);

// ---- helpers shared by the op files ---------------------------------------------------------------
// PyTorch's promotion (category first, then width; a Scalar only raises the category).
DType promote_types(DType a, DType b);
DType promote_with_scalar(DType a, const Scalar& s);
// Throws naming op unless every tensor given is on the GPU.
void check_cuda(const char* op, const Tensor& t);
// t converted to dtype on its device (t itself when it already has it).
Tensor as_dtype(const Tensor& t, DType dtype);

// Makes sure the kernels above are registered with tensor's dispatch (they are from a static
// initialiser when cj_cuda is linked whole; calling this is harmless and idempotent).
void ensure_registered();

}  // namespace cj::cuda
