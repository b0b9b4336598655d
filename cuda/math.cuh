#pragma once
// Device math in float or double without relying on overload resolution of the C library names.
#include <cmath>
#include <type_traits>

namespace cj::cuda::dmath {

// One wrapper per C library function: its float spelling (expf) for float, the plain one for double.
#define CJ_DMATH_UNARY(name, float_fn, double_fn)                      \
  template <typename M> __device__ __forceinline__ M name(M x) {         \
    if constexpr (std::is_same_v<M, float>) return ::float_fn(x);        \
    else return ::double_fn(x);                                          \
  }
CJ_DMATH_UNARY(exp, expf, exp)
CJ_DMATH_UNARY(log, logf, log)
CJ_DMATH_UNARY(sqrt, sqrtf, sqrt)
CJ_DMATH_UNARY(tanh, tanhf, tanh)
CJ_DMATH_UNARY(erf, erff, erf)
CJ_DMATH_UNARY(sin, sinf, sin)
CJ_DMATH_UNARY(cos, cosf, cos)
CJ_DMATH_UNARY(log1p, log1pf, log1p)
CJ_DMATH_UNARY(expm1, expm1f, expm1)
#undef CJ_DMATH_UNARY

template <typename M> __device__ __forceinline__ M rsqrt(M x) {
  if constexpr (std::is_same_v<M, float>) return ::rsqrtf(x); else return 1.0 / ::sqrt(x);
}
// max that lets NaN win, as torch.amax / softmax's max do
template <typename M> __device__ __forceinline__ M nan_max(M a, M b) { return (a != a || a > b) ? a : b; }
template <typename M> __device__ __forceinline__ M nan_min(M a, M b) { return (a != a || a < b) ? a : b; }

template <typename M> __device__ __forceinline__ M neg_infinity() {
  if constexpr (std::is_same_v<M, float>) return -INFINITY; else return -HUGE_VAL;
}

}  // namespace cj::cuda::dmath
