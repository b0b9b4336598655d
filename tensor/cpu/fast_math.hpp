#pragma once
// exp for float written so that GCC vectorises loops calling it (plain arithmetic and selects, no
// libm call): the std::exp call is what keeps softmax, sigmoid and tanh-GELU scalar otherwise.
//
// exp(x) = 2^n * exp(r), n = round(x / ln 2), r = x - n ln 2 (ln 2 split in two for an exact
// product), |r| <= ln(2)/2; exp(r) by its degree-7 Taylor polynomial (truncation < 3e-9 relative).
// 2^n is applied as two factors so that results in the subnormal range come out right.
// Max error about 2 ulp over the whole float range (tests/tensor/test_elementwise.cpp sweeps it);
// exp(-inf) = 0, exp(+inf) = +inf, NaN stays NaN.
#include <cmath>
#include <cstdint>
#include <cstring>

namespace cj::cpu {

inline float exp_f32(float x) {
  // clamp so that n stays small; NaN fails `x > -104` and is clamped too (the result is fixed up below)
  float xc = x > -104.0f ? x : -104.0f;
  xc = xc < 89.0f ? xc : 89.0f;
  // round to nearest by adding and removing 1.5 * 2^23 (floorf would keep GCC from vectorising)
  const float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = xc - n * 0.693145751953125f;  // ln 2 high part (exact product for |n| < 2^12)
  r = r - n * 1.42860682030941723212e-6f;  // ln 2 low part
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t ni = int32_t(n), n1 = ni >> 1, n2 = ni - n1;  // each in [-75, 64]: a normal float
  const uint32_t b1 = uint32_t(n1 + 127) << 23, b2 = uint32_t(n2 + 127) << 23;
  float s1, s2;
  std::memcpy(&s1, &b1, 4);
  std::memcpy(&s2, &b2, 4);
  const float y = p * s1 * s2;
  return x != x ? x : y;
}

// exp in a kernel's compute type: the vectorisable float version, std::exp for double.
inline float fast_exp(float x) { return exp_f32(x); }
inline double fast_exp(double x) { return std::exp(x); }

}  // namespace cj::cpu
