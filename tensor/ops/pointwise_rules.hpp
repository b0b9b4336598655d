#pragma once
// Per-element rules shared by the CPU ops (binary.cpp, unary.cpp) and the CUDA kernels
// (cuda/compare.cu, cuda/pointwise.cu): one definition compiled by g++ and nvcc, so the CPU tests
// check the very code the GPU runs. C is the math type: float for 16-bit floats, else the element type.
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "tensor/host_device.hpp"

namespace cj::pointwise {

template <typename C> constexpr bool is_fp_v = std::is_floating_point_v<C>;

template <typename C> CJ_HD bool is_nan(C v) { return v != v; }

// Non-zero is true; NaN is true, as in torch.
template <typename C> CJ_HD bool truthy(C v) { return v != C(0); }

// Integer power by squaring; a negative exponent leaves only 1 and -1 non-zero (torch's integral pow).
template <typename C> CJ_HD C int_pow(C base, C e) {
  if constexpr (std::is_signed_v<C>) {
    if (e < C(0)) {
      if (base == C(1)) return C(1);
      if (base == C(-1)) return (e & 1) ? C(-1) : C(1);
      return C(0);
    }
  }
  C result = 1;
  while (e) {
    if (e & 1) result = C(result * base);
    base = C(base * base);
    e >>= 1;
  }
  return result;
}

template <typename C> CJ_HD C pow_value(C x, C y) {
  if constexpr (std::is_same_v<C, float>) return ::powf(x, y);
  else if constexpr (std::is_same_v<C, double>) return ::pow(x, y);
  else if constexpr (std::is_same_v<C, bool>) return bool(x || !y);
  else return int_pow<C>(x, y);
}

// maximum/minimum: NaN in either operand propagates.
template <typename C> CJ_HD C maximum_value(C a, C b) {
  if (is_nan(a)) return a;
  if (is_nan(b)) return b;
  return a < b ? b : a;
}
template <typename C> CJ_HD C minimum_value(C a, C b) {
  if (is_nan(a)) return a;
  if (is_nan(b)) return b;
  return b < a ? b : a;
}

// clamp: NaN propagates; with min > max the result is max, as torch.
template <typename C> CJ_HD C clamp_value(C v, bool has_lo, C lo, bool has_hi, C hi) {
  if (is_nan(v)) return v;
  if (has_lo && v < lo) v = lo;
  if (has_hi && v > hi) v = hi;
  return v;
}

// sign: -1, 0 or 1 in the input's type; NaN gives 0 as the CPU op does; bool stays itself.
template <typename C> CJ_HD C sign_value(C v) {
  if constexpr (std::is_same_v<C, bool> || std::is_unsigned_v<C>) return C(v != C(0));
  else return C(int(C(0) < v) - int(v < C(0)));
}

template <typename C> CJ_HD C abs_value(C v) {
  if constexpr (std::is_unsigned_v<C>) return v;
  else return v < C(0) ? C(-v) : v;
}

}  // namespace cj::pointwise
