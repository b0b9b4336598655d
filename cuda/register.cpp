// Plugs the CUDA backend into tensor/: the caching allocator for DeviceType::cuda and every CUDA
// kernel under its op's name, from one static initialiser. cj_cuda is linked whole-archive
// (cuda/CMakeLists.txt: target cj_cuda_backend) so this object is kept although nothing names it.
//
// Names: the op's name in cj::ops; the Scalar overloads of binary ops take a ".scalar" suffix.
// Each registration checks at compile time that cj::ops declares an overload with exactly this
// signature, so a CPU op and its CUDA kernel cannot drift apart.
#include <type_traits>

#include "cuda/allocator.hpp"
#include "cuda/ops.hpp"
#include "cuda/stream.hpp"
#include "tensor/backend.hpp"
#include "tensor/ops/index.hpp"
#include "tensor/ops/linalg.hpp"
#include "tensor/ops/reduction.hpp"
#include "tensor/ops/views.hpp"

namespace cj::cuda {

namespace {

using TT = Tensor(const Tensor&, const Tensor&);
using TTS = Tensor(const Tensor&, const Tensor&, Scalar);
using TS = Tensor(const Tensor&, Scalar);
using T1 = Tensor(const Tensor&);
using Gelu = Tensor(const Tensor&, GeluApprox);
using GeluBack = Tensor(const Tensor&, const Tensor&, GeluApprox);
using Reduce = Tensor(const Tensor&, const Dims&, bool);
using SoftmaxFwd = Tensor(const Tensor&, int64_t);
using SoftmaxBack = Tensor(const Tensor&, const Tensor&, int64_t);
using AlongDim = Tensor(const Tensor&, int64_t, bool);
using ExtremeDim = std::pair<Tensor, Tensor>(const Tensor&, int64_t, bool);
using Inplace = void(const Tensor&, const Tensor&);
using InplaceAlpha = void(const Tensor&, const Tensor&, Scalar);
using InplaceScalar = void(const Tensor&, Scalar);
using Moments = Tensor(const Tensor&, const Dims&, bool, bool);

// Module::to / require_device(cuda:N): a usable device here, and the one the backend runs on.
void require_device_index(int index) {
  require_device();
  CJ_CHECK(index == 0, "cuda:", index, ": the CUDA backend runs on device 0 only for now (pick the GPU with ",
           "CUDA_VISIBLE_DEVICES=", index, " and ask for cuda:0)");
}

#define CJ_REGISTER_CUDA(Sig, name, ops_fn, cuda_fn)                                            \
  static_assert(std::is_same_v<decltype(static_cast<Sig*>(&ops_fn)), Sig*>, "signature check"); \
  ::cj::backend::register_op<Sig>(DeviceType::cuda, name, &cuda_fn)

void register_all() {
  register_allocator(DeviceType::cuda, &cuda_allocator());
  register_device_check(DeviceType::cuda, &require_device_index);

  CJ_REGISTER_CUDA(decltype(ops::copy_), "copy_", ops::copy_, copy_);
  CJ_REGISTER_CUDA(decltype(ops::fill_), "fill_", ops::fill_, fill_);

  CJ_REGISTER_CUDA(TTS, "add", ops::add, add);
  CJ_REGISTER_CUDA(TTS, "sub", ops::sub, sub);
  CJ_REGISTER_CUDA(TT, "mul", ops::mul, mul);
  CJ_REGISTER_CUDA(TT, "div", ops::div, div);
  CJ_REGISTER_CUDA(TS, "add.scalar", ops::add, add_scalar);
  CJ_REGISTER_CUDA(TS, "sub.scalar", ops::sub, sub_scalar);
  CJ_REGISTER_CUDA(TS, "mul.scalar", ops::mul, mul_scalar);
  CJ_REGISTER_CUDA(TS, "div.scalar", ops::div, div_scalar);
  CJ_REGISTER_CUDA(T1, "neg", ops::neg, neg);
  CJ_REGISTER_CUDA(T1, "exp", ops::exp, exp);
  CJ_REGISTER_CUDA(T1, "log", ops::log, log);
  CJ_REGISTER_CUDA(T1, "sqrt", ops::sqrt, sqrt);
  CJ_REGISTER_CUDA(T1, "rsqrt", ops::rsqrt, rsqrt);
  CJ_REGISTER_CUDA(T1, "tanh", ops::tanh, tanh);
  CJ_REGISTER_CUDA(T1, "sigmoid", ops::sigmoid, sigmoid);
  CJ_REGISTER_CUDA(T1, "relu", ops::relu, relu);
  CJ_REGISTER_CUDA(Gelu, "gelu", ops::gelu, gelu);
  CJ_REGISTER_CUDA(GeluBack, "gelu_backward", ops::gelu_backward, gelu_backward);

  CJ_REGISTER_CUDA(Reduce, "sum", ops::sum, sum);
  CJ_REGISTER_CUDA(Reduce, "mean", ops::mean, mean);
  CJ_REGISTER_CUDA(Reduce, "amax", ops::amax, amax);

  CJ_REGISTER_CUDA(SoftmaxFwd, "softmax", ops::softmax, softmax);
  CJ_REGISTER_CUDA(SoftmaxFwd, "log_softmax", ops::log_softmax, log_softmax);
  CJ_REGISTER_CUDA(SoftmaxBack, "softmax_backward", ops::softmax_backward, softmax_backward);
  CJ_REGISTER_CUDA(SoftmaxBack, "log_softmax_backward", ops::log_softmax_backward, log_softmax_backward);

  CJ_REGISTER_CUDA(decltype(ops::layer_norm), "layer_norm", ops::layer_norm, layer_norm);
  CJ_REGISTER_CUDA(decltype(ops::layer_norm_backward), "layer_norm_backward", ops::layer_norm_backward,
                   layer_norm_backward);

  CJ_REGISTER_CUDA(decltype(ops::philox_fill_), "philox_fill_", ops::philox_fill_, philox_fill_);
  CJ_REGISTER_CUDA(decltype(ops::fused_adam_), "fused_adam_", ops::fused_adam_, fused_adam_);
  CJ_REGISTER_CUDA(decltype(ops::foreach_norm_partial), "foreach_norm_partial", ops::foreach_norm_partial,
                   foreach_norm_partial);
  CJ_REGISTER_CUDA(decltype(ops::foreach_mul_), "foreach_mul_", ops::foreach_mul_, foreach_mul_);

  CJ_REGISTER_CUDA(decltype(ops::mm), "mm", ops::mm, mm);
  CJ_REGISTER_CUDA(decltype(ops::bmm), "bmm", ops::bmm, bmm);
  CJ_REGISTER_CUDA(decltype(ops::matmul), "matmul", ops::matmul, matmul);
  CJ_REGISTER_CUDA(decltype(ops::linear), "linear", ops::linear, linear);

  // compare.cu
  CJ_REGISTER_CUDA(TT, "eq", ops::eq, eq);
  CJ_REGISTER_CUDA(TT, "ne", ops::ne, ne);
  CJ_REGISTER_CUDA(TT, "lt", ops::lt, lt);
  CJ_REGISTER_CUDA(TT, "le", ops::le, le);
  CJ_REGISTER_CUDA(TT, "gt", ops::gt, gt);
  CJ_REGISTER_CUDA(TT, "ge", ops::ge, ge);
  CJ_REGISTER_CUDA(TS, "eq.scalar", ops::eq, eq_scalar);
  CJ_REGISTER_CUDA(TS, "ne.scalar", ops::ne, ne_scalar);
  CJ_REGISTER_CUDA(TS, "lt.scalar", ops::lt, lt_scalar);
  CJ_REGISTER_CUDA(TS, "le.scalar", ops::le, le_scalar);
  CJ_REGISTER_CUDA(TS, "gt.scalar", ops::gt, gt_scalar);
  CJ_REGISTER_CUDA(TS, "ge.scalar", ops::ge, ge_scalar);
  CJ_REGISTER_CUDA(TT, "logical_and", ops::logical_and, logical_and);
  CJ_REGISTER_CUDA(TT, "logical_or", ops::logical_or, logical_or);
  CJ_REGISTER_CUDA(TT, "logical_xor", ops::logical_xor, logical_xor);
  CJ_REGISTER_CUDA(T1, "logical_not", ops::logical_not, logical_not);
  CJ_REGISTER_CUDA(decltype(ops::where), "where", ops::where, where);

  // pointwise.cu
  CJ_REGISTER_CUDA(T1, "abs", ops::abs, abs);
  CJ_REGISTER_CUDA(T1, "sign", ops::sign, sign);
  CJ_REGISTER_CUDA(T1, "square", ops::square, square);
  CJ_REGISTER_CUDA(T1, "reciprocal", ops::reciprocal, reciprocal);
  CJ_REGISTER_CUDA(T1, "sin", ops::sin, sin);
  CJ_REGISTER_CUDA(T1, "cos", ops::cos, cos);
  CJ_REGISTER_CUDA(T1, "erf", ops::erf, erf);
  CJ_REGISTER_CUDA(T1, "log1p", ops::log1p, log1p);
  CJ_REGISTER_CUDA(T1, "expm1", ops::expm1, expm1);
  CJ_REGISTER_CUDA(decltype(ops::clamp), "clamp", ops::clamp, clamp);
  CJ_REGISTER_CUDA(TT, "pow", ops::pow, pow);
  CJ_REGISTER_CUDA(TS, "pow.scalar", ops::pow, pow_scalar);
  CJ_REGISTER_CUDA(TS, "rsub.scalar", ops::rsub, rsub_scalar);
  CJ_REGISTER_CUDA(TT, "maximum", ops::maximum, maximum);
  CJ_REGISTER_CUDA(TT, "minimum", ops::minimum, minimum);

  // reduce.cu, reduce_index.cu
  CJ_REGISTER_CUDA(Reduce, "prod", ops::prod, prod);
  CJ_REGISTER_CUDA(Reduce, "amin", ops::amin, amin);
  CJ_REGISTER_CUDA(ExtremeDim, "max", ops::max, max_dim);
  CJ_REGISTER_CUDA(ExtremeDim, "min", ops::min, min_dim);
  CJ_REGISTER_CUDA(AlongDim, "argmax", ops::argmax, argmax);
  CJ_REGISTER_CUDA(AlongDim, "argmin", ops::argmin, argmin);
  CJ_REGISTER_CUDA(decltype(ops::cumsum), "cumsum", ops::cumsum, cumsum);

  // index.cu, sort.cu
  CJ_REGISTER_CUDA(decltype(ops::gather), "gather", ops::gather, gather);
  CJ_REGISTER_CUDA(decltype(ops::scatter), "scatter", ops::scatter, scatter);
  CJ_REGISTER_CUDA(decltype(ops::scatter_add), "scatter_add", ops::scatter_add, scatter_add);
  CJ_REGISTER_CUDA(decltype(ops::sort), "sort", ops::sort, sort);
  CJ_REGISTER_CUDA(decltype(ops::topk), "topk", ops::topk, topk);

  // composite.cpp
  CJ_REGISTER_CUDA(decltype(ops::masked_fill), "masked_fill", ops::masked_fill, masked_fill);
  CJ_REGISTER_CUDA(decltype(ops::masked_select), "masked_select", ops::masked_select, masked_select);
  CJ_REGISTER_CUDA(decltype(ops::index_select), "index_select", ops::index_select, index_select);
  CJ_REGISTER_CUDA(decltype(ops::index_add), "index_add", ops::index_add, index_add);
  CJ_REGISTER_CUDA(decltype(ops::embedding), "embedding", ops::embedding, embedding);
  CJ_REGISTER_CUDA(decltype(ops::embedding_backward), "embedding_backward", ops::embedding_backward,
                   embedding_backward);
  CJ_REGISTER_CUDA(decltype(ops::one_hot), "one_hot", ops::one_hot, one_hot);
  CJ_REGISTER_CUDA(Moments, "var", ops::var, var);
  CJ_REGISTER_CUDA(Moments, "std", ops::std, std);
  CJ_REGISTER_CUDA(decltype(ops::logsumexp), "logsumexp", ops::logsumexp, logsumexp);
  CJ_REGISTER_CUDA(T1, "all", ops::all, all);
  CJ_REGISTER_CUDA(T1, "any", ops::any, any);
  CJ_REGISTER_CUDA(InplaceAlpha, "add_", ops::add_, add_);
  CJ_REGISTER_CUDA(InplaceAlpha, "sub_", ops::sub_, sub_);
  CJ_REGISTER_CUDA(Inplace, "mul_", ops::mul_, mul_);
  CJ_REGISTER_CUDA(Inplace, "div_", ops::div_, div_);
  CJ_REGISTER_CUDA(InplaceScalar, "add_.scalar", ops::add_, add_scalar_);
  CJ_REGISTER_CUDA(InplaceScalar, "mul_.scalar", ops::mul_, mul_scalar_);
  CJ_REGISTER_CUDA(decltype(ops::clamp_), "clamp_", ops::clamp_, clamp_);

  // conv_interpolate.cpp
  CJ_REGISTER_CUDA(decltype(ops::conv2d), "conv2d", ops::conv2d, conv2d);
  CJ_REGISTER_CUDA(decltype(ops::conv2d_backward), "conv2d_backward", ops::conv2d_backward, conv2d_backward);
  CJ_REGISTER_CUDA(decltype(ops::conv_transpose2d), "conv_transpose2d", ops::conv_transpose2d, conv_transpose2d);
  CJ_REGISTER_CUDA(decltype(ops::conv_transpose2d_backward), "conv_transpose2d_backward",
                   ops::conv_transpose2d_backward, conv_transpose2d_backward);
  CJ_REGISTER_CUDA(decltype(ops::interpolate), "interpolate", ops::interpolate, interpolate);
  CJ_REGISTER_CUDA(decltype(ops::interpolate_backward), "interpolate_backward", ops::interpolate_backward,
                   interpolate_backward);

  CJ_REGISTER_CUDA(decltype(ops::scaled_dot_product_attention), "scaled_dot_product_attention",
                   ops::scaled_dot_product_attention, scaled_dot_product_attention);
  CJ_REGISTER_CUDA(decltype(ops::scaled_dot_product_attention_backward), "scaled_dot_product_attention_backward",
                   ops::scaled_dot_product_attention_backward, scaled_dot_product_attention_backward);
}

#undef CJ_REGISTER_CUDA

struct Registrar {
  Registrar() { register_all(); }
};
const Registrar registrar;  // runs before main(); touches no CUDA API, so it is safe without a GPU

}  // namespace

void ensure_registered() {
  static const bool done = (register_all(), true);
  (void)done;
}

}  // namespace cj::cuda
