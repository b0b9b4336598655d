// Backward kernels of the fused activations (their forwards are elementwise ops).
#include <cmath>

#include "tensor/backend.hpp"
#include "tensor/cpu/fast_math.hpp"
#include "tensor/cpu/float_compute.hpp"
#include "tensor/cpu/parallel.hpp"
#include "tensor/ops/nn_kernels.hpp"

namespace cj::ops {

// gy, x: same shape -> gx = gy * gelu'(x)
//   exact: gelu(x) = x Φ(x)                      -> Φ(x) + x φ(x)
//   tanh:  gelu(x) = x/2 (1 + tanh(u)), u = √(2/π)(x + 0.044715 x³)
//                                                -> (1 + t)/2 + x/2 (1 - t²) √(2/π)(1 + 3·0.044715 x²)
Tensor gelu_backward(const Tensor& gy, const Tensor& x, GeluApprox approx) {
  CJ_FORWARD_TO_DEVICE(Tensor(const Tensor&, const Tensor&, GeluApprox), "gelu_backward", gy, gy, x, approx);
  cpu::check_float_cpu(x, "gelu_backward", "input");
  cpu::check_float_cpu(gy, "gelu_backward", "grad_output");
  CJ_CHECK(gy.shape() == x.shape() && gy.dtype() == x.dtype(), "gelu_backward: grad_output ", gy.describe(),
           " does not match the input ", x.describe());
  Tensor xc = cpu::contiguous_compute(x, x.dtype()), gc = cpu::contiguous_compute(gy, x.dtype());
  Tensor gx = Tensor::empty(x.shape(), cpu::compute_dtype(x.dtype()));
  cpu::dispatch_compute(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *xp = xc.data<T>(), *gp = gc.data<T>();
    T* out = gx.data<T>();
    cpu::parallel_for(x.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
      if (approx == GeluApprox::none) {
        for (int64_t i = begin; i < end; ++i) out[i] = gp[i] * cpu::gelu_erf_derivative(xp[i]);
      } else {
        const T beta = T(M_SQRT2 * M_2_SQRTPI * 0.5), kappa = T(0.044715);
        for (int64_t i = begin; i < end; ++i) {
          const T v = xp[i];
          // tanh(u) = 2 / (1 + exp(-2u)) - 1 with the vectorisable exp
          const T t = T(2) / (T(1) + cpu::fast_exp(T(-2) * beta * (v + kappa * v * v * v))) - T(1);
          const T d = T(0.5) * (T(1) + t) + T(0.5) * v * (T(1) - t * t) * beta * (T(1) + T(3) * kappa * v * v);
          out[i] = gp[i] * d;
        }
      }
    });
  });
  return to(gx, x.dtype());
}

}  // namespace cj::ops
