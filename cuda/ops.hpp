#pragma once
// The CUDA kernels, with exactly the signatures of the cj::ops functions they serve (register.cpp
// registers each under the op's name, so ops::add on a CUDA tensor lands in cuda::add). Callable
// directly too: the tests compare them with the CPU results.
#include <optional>

#include "tensor/ops/elementwise.hpp"
#include "tensor/ops/index.hpp"
#include "tensor/ops/nn_kernels.hpp"
#include "tensor/ops/optim.hpp"
#include "tensor/ops/reduction.hpp"
#include "tensor/random.hpp"
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
// lse (numel = rows); attention uses it. x: (..., L) -> (..., L). zero_empty_rows: a row with no
// entry above -inf (a query whose keys are all masked) gives zeros and lse = -inf, as the CPU
// attention, instead of softmax's NaN.
Tensor softmax_last_dim_with_lse(const Tensor& x, const Tensor& lse, bool zero_empty_rows);

// ---- layer norm (layer_norm.cu) ----------------------------------------------------------------
ops::LayerNormOut layer_norm(const Tensor& x, const Shape& normalized_shape, const std::optional<Tensor>& weight,
                             const std::optional<Tensor>& bias, double eps);
ops::LayerNormGrads layer_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                                        const Shape& normalized_shape, const std::optional<Tensor>& weight,
                                        bool has_bias);

// ---- random draws (random.cu): the CPU's Philox stream, bit for bit --------------------------------
void philox_fill_(const Tensor& t, const philox::Draw& draw, uint64_t seed, uint64_t first_block);

// ---- multi-tensor optimizer kernels (optim.cu): one launch over many tensors ---------------------
void fused_adam_(const std::vector<ops::AdamSlice>& slices, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                 const Tensor& max_exp_avg_sq, const ops::AdamConfig& config);
double foreach_norm_partial(const std::vector<Tensor>& tensors, bool inf_norm);
void foreach_mul_(const std::vector<Tensor>& tensors, double factor);

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

// ---- comparisons, logic and where (compare.cu) -> bool ------------------------------------------
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq_scalar(const Tensor& a, Scalar b);
Tensor ne_scalar(const Tensor& a, Scalar b);
Tensor lt_scalar(const Tensor& a, Scalar b);
Tensor le_scalar(const Tensor& a, Scalar b);
Tensor gt_scalar(const Tensor& a, Scalar b);
Tensor ge_scalar(const Tensor& a, Scalar b);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_xor(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& x);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// ---- more pointwise maths (pointwise.cu) -----------------------------------------------------------
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);
Tensor square(const Tensor& x);
Tensor reciprocal(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor erf(const Tensor& x);
Tensor log1p(const Tensor& x);
Tensor expm1(const Tensor& x);
Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow_scalar(const Tensor& a, Scalar exponent);
Tensor rsub_scalar(const Tensor& a, Scalar b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);

// ---- more reductions (reduce.cu: any dtype; reduce_index.cu: along one dim) -----------------------
Tensor prod(const Tensor& x, const Dims& dims, bool keepdim);
Tensor amin(const Tensor& x, const Dims& dims, bool keepdim);
std::pair<Tensor, Tensor> max_dim(const Tensor& x, int64_t dim, bool keepdim);
std::pair<Tensor, Tensor> min_dim(const Tensor& x, int64_t dim, bool keepdim);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim);
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim);
Tensor cumsum(const Tensor& x, int64_t dim);

// ---- gather / scatter (index.cu); index bounds are checked on the host first --------------------
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);

// ---- ordering (sort.cu) ---------------------------------------------------------------------------
std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending);
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted);

// ---- ops built from the kernels above (composite.cpp; the logic is cuda/composite.hpp) ------------
Tensor pad(const Tensor& x, const Shape& pads, Scalar value);
Tensor masked_fill(const Tensor& x, const Tensor& mask, Scalar value);
Tensor masked_select(const Tensor& x, const Tensor& mask);
Tensor cat(const std::vector<Tensor>& xs, int64_t dim);
Tensor stack(const std::vector<Tensor>& xs, int64_t dim);
Tensor repeat(const Tensor& x, const Shape& repeats);
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor embedding(const Tensor& weight, const Tensor& index);
Tensor embedding_backward(const Tensor& gy, const Tensor& index, int64_t num_embeddings);
Tensor one_hot(const Tensor& index, int64_t num_classes);
Tensor var(const Tensor& x, const Dims& dims, bool unbiased, bool keepdim);
Tensor std(const Tensor& x, const Dims& dims, bool unbiased, bool keepdim);
Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim);
Tensor all(const Tensor& x);
Tensor any(const Tensor& x);
void add_(const Tensor& self, const Tensor& other, Scalar alpha);
void sub_(const Tensor& self, const Tensor& other, Scalar alpha);
void mul_(const Tensor& self, const Tensor& other);
void div_(const Tensor& self, const Tensor& other);
void add_scalar_(const Tensor& self, Scalar other);
void mul_scalar_(const Tensor& self, Scalar other);
void clamp_(const Tensor& self, std::optional<Scalar> min, std::optional<Scalar> max);

// ---- convolutions and interpolate (conv_interpolate.cpp): convolutions through cuDNN (cudnn_conv.cpp)
// or natively as im2col + batched GEMMs (conv_composite.hpp); interpolate as two GEMMs ---------------
// automatic: cuDNN when the build has it, native otherwise (and for what cuDNN does not take);
// cudnn: refuse (throw) what cuDNN cannot take, or a build without it; native: always native.
// Default from CJ_CONV=auto|cudnn|native.
enum class ConvPath { automatic, cudnn, native };
void set_conv_path(ConvPath path);
ConvPath conv_path();
Tensor conv2d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const Conv2dParams& p);
ops::ConvGrads conv2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, bool has_bias, const Conv2dParams& p);
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const Conv2dParams& p);
ops::ConvGrads conv_transpose2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, bool has_bias,
                                         const Conv2dParams& p);
Tensor interpolate(const Tensor& x, const InterpolateParams& p);
Tensor interpolate_backward(const Tensor& gy, const Shape& input_shape, const InterpolateParams& p);

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
