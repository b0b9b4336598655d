#pragma once
// Device math in float or double without relying on overload resolution of the C library names.
#include <cmath>
#include <type_traits>

namespace cj::cuda::dmath {

template <typename M> __device__ __forceinline__ M exp(M x) {
  if constexpr (std::is_same_v<M, float>) return ::expf(x); else return ::exp(x);
}
template <typename M> __device__ __forceinline__ M log(M x) {
  if constexpr (std::is_same_v<M, float>) return ::logf(x); else return ::log(x);
}
template <typename M> __device__ __forceinline__ M sqrt(M x) {
  if constexpr (std::is_same_v<M, float>) return ::sqrtf(x); else return ::sqrt(x);
}
template <typename M> __device__ __forceinline__ M rsqrt(M x) {
  if constexpr (std::is_same_v<M, float>) return ::rsqrtf(x); else return 1.0 / ::sqrt(x);
}
template <typename M> __device__ __forceinline__ M tanh(M x) {
  if constexpr (std::is_same_v<M, float>) return ::tanhf(x); else return ::tanh(x);
}
template <typename M> __device__ __forceinline__ M erf(M x) {
  if constexpr (std::is_same_v<M, float>) return ::erff(x); else return ::erf(x);
}
// max that lets NaN win, as torch.amax / softmax's max do
template <typename M> __device__ __forceinline__ M nan_max(M a, M b) { return (a != a || a > b) ? a : b; }

template <typename M> __device__ __forceinline__ M nan_min(M a, M b) { return (a != a || a < b) ? a : b; }
template <typename M> __device__ __forceinline__ M sin(M x) {
  if constexpr (std::is_same_v<M, float>) return ::sinf(x); else return ::sin(x);
}
template <typename M> __device__ __forceinline__ M cos(M x) {
  if constexpr (std::is_same_v<M, float>) return ::cosf(x); else return ::cos(x);
}
template <typename M> __device__ __forceinline__ M log1p(M x) {
  if constexpr (std::is_same_v<M, float>) return ::log1pf(x); else return ::log1p(x);
}
template <typename M> __device__ __forceinline__ M expm1(M x) {
  if constexpr (std::is_same_v<M, float>) return ::expm1f(x); else return ::expm1(x);
}

template <typename M> __device__ __forceinline__ M neg_infinity() {
  if constexpr (std::is_same_v<M, float>) return -INFINITY; else return -HUGE_VAL;
}

}  // namespace cj::cuda::dmath
