#pragma once
// GELU and its derivative as device functors (math type M: float for f32/bf16/f16, double for f64),
// exact (erf) and tanh forms; cuda/elementwise.cu launches them and bench/sandbox/sandbox_elementwise.cu
// times launch variants on the very same maths.
#include "cuda/math.cuh"

namespace cj::cuda {

constexpr double kSqrt1_2 = 0.70710678118654752440;     // 1/sqrt(2)
constexpr double kSqrt2OverPi = 0.79788456080286535588; // sqrt(2/pi)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;  // 1/sqrt(2 pi)
constexpr double kGeluCubic = 0.044715;

template <typename M> struct GeluErf {
  __device__ M operator()(M x) const { return M(0.5) * x * (M(1) + dmath::erf(x * M(kSqrt1_2))); }
};
template <typename M> struct GeluTanh {
  __device__ M operator()(M x) const {
    return M(0.5) * x * (M(1) + dmath::tanh(M(kSqrt2OverPi) * (x + M(kGeluCubic) * x * x * x)));
  }
};
// d/dx [x Φ(x)] = Φ(x) + x φ(x)
template <typename M> struct GeluErfBackward {
  __device__ M operator()(M gy, M x) const {
    M cdf = M(0.5) * (M(1) + dmath::erf(x * M(kSqrt1_2)));
    M pdf = M(kInvSqrt2Pi) * dmath::exp(M(-0.5) * x * x);
    return gy * (cdf + x * pdf);
  }
};
template <typename M> struct GeluTanhBackward {
  __device__ M operator()(M gy, M x) const {
    M inner = M(kSqrt2OverPi) * (x + M(kGeluCubic) * x * x * x);
    M t = dmath::tanh(inner);
    M dinner = M(kSqrt2OverPi) * (M(1) + M(3 * kGeluCubic) * x * x);
    return gy * (M(0.5) * (M(1) + t) + M(0.5) * x * (M(1) - t * t) * dinner);
  }
};

}  // namespace cj::cuda
