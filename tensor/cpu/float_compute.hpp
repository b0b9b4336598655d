#pragma once
// The compute dtype of the fused float kernels: f64 stays f64, everything else (f32, bf16, f16)
// computes in f32 and is rounded once at the end, as PyTorch's CPU kernels do for 16-bit floats.
#include <type_traits>

#include "tensor/dispatch.hpp"
#include "tensor/ops/views.hpp"
#include "tensor/tensor.hpp"

namespace cj::cpu {

inline DType compute_dtype(DType t) { return t == DType::f64 ? DType::f64 : DType::f32; }

// Checks that t is a defined floating CPU tensor (naming the op and argument otherwise).
inline void check_float_cpu(const Tensor& t, const char* op, const char* arg) {
  CJ_CHECK(t.defined(), op, ": ", arg, " is undefined");
  CJ_CHECK(t.is_cpu(), op, ": ", arg, " is on ", t.device().str(), "; only CPU kernels exist so far");
  CJ_CHECK(is_floating(t.dtype()), op, ": ", arg, " must be a floating tensor (f32, f64, bf16, f16), got ",
           dtype_name(t.dtype()));
}

// t as a contiguous tensor of the compute dtype of `like` (a copy only when needed).
inline Tensor contiguous_compute(const Tensor& t, DType like) {
  return ops::contiguous(ops::to(t, compute_dtype(like)));
}

// Runs f(type_tag<float>) or f(type_tag<double>) for the compute dtype of t.
template <typename F>
decltype(auto) dispatch_compute(DType t, F&& f) {
  if (compute_dtype(t) == DType::f64) return f(type_tag<double>{});
  return f(type_tag<float>{});
}

}  // namespace cj::cpu
