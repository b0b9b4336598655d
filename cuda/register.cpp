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
#include "tensor/backend.hpp"
#include "tensor/ops/linalg.hpp"
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

#define CJ_REGISTER_CUDA(Sig, name, ops_fn, cuda_fn)                                            \
  static_assert(std::is_same_v<decltype(static_cast<Sig*>(&ops_fn)), Sig*>, "signature check"); \
  ::cj::backend::register_op<Sig>(DeviceType::cuda, name, &cuda_fn)

void register_all() {
  register_allocator(DeviceType::cuda, &cuda_allocator());

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
