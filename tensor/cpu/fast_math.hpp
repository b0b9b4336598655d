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

// always_inline: a call per element would keep the caller's loop from vectorising.
#define CJ_VECTOR_INLINE inline __attribute__((always_inline))

CJ_VECTOR_INLINE float exp_f32(float x) {
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

// The standard normal CDF Φ(x) and density φ(x) for float, vectorisable like exp_f32: the exact
// (erf) GELU is x Φ(x) and its derivative Φ(x) + x φ(x), and std::erf is a scalar libm call.
//   |x| < 0.75:  Φ(x) = 1/2 + x P(x²)                (P: degree 6, fitted to (Φ(x) - 1/2) / x)
//   otherwise:   Φ(-|x|) = exp(-x²/2) t Q(t),  t = 1 / (1 + |x|/2)   (Q: degree 10, fitted for
//                relative error to Φ(-a) exp(a²/2) on [0.75, 14.5]), Φ(|x|) = 1 - Φ(-|x|)
// Both are least-squares fits for relative error made by tools/fit_normal_cdf.py (< 3e-9 in exact
// arithmetic); evaluated in float, Φ is within 1e-7 absolute (1.5 ulp at 1) and 6 ulp relative even
// in the far negative tail (tests/tensor/test_elementwise.cpp sweeps it against std::erf). x² is split into
// hi + lo with an FMA so that exp(-x²/2) keeps its relative accuracy for large |x|.
struct NormalCdfPdf {
  float cdf, pdf;
};

CJ_VECTOR_INLINE NormalCdfPdf normal_cdf_pdf_f32(float x) {
  const float a = __builtin_fabsf(x);
  const float s = x * x;
  float p = 5.922939295e-07f;
  p = p * s + -9.390828382e-06f;
  p = p * s + 1.154150159e-04f;
  p = p * s + -1.187324524e-03f;
  p = p * s + 9.973556735e-03f;
  p = p * s + -6.649038196e-02f;
  p = p * s + 3.989422917e-01f;
  const float core = 0.5f + x * p;
  const float ac = a < 14.5f ? a : 14.5f;  // beyond, Φ(-a) and φ are below the float range
  const float t = 1.0f / (1.0f + 0.5f * ac);
  float q = -1.692251861e-01f;
  q = q * t + 7.846403718e-01f;
  q = q * t + -1.510858655e+00f;
  q = q * t + 1.471798182e+00f;
  q = q * t + -6.556677222e-01f;
  q = q * t + 7.719130069e-02f;
  q = q * t + -1.013403907e-01f;
  q = q * t + 5.525197834e-02f;
  q = q * t + 1.491263658e-01f;
  q = q * t + 1.994956136e-01f;
  q = q * t + 1.994705945e-01f;
  const float hi = ac * ac, lo = __builtin_fmaf(ac, ac, -hi);  // ac² = hi + lo exactly
  const float gauss = exp_f32(-0.5f * hi) * (1.0f - 0.5f * lo);  // exp(-ac²/2)
  const float tail = gauss * (t * q);
  const float cdf = a < 0.75f ? core : (x > 0 ? 1.0f - tail : tail);
  return {x != x ? x : cdf, gauss * 0.398942280401432678f};
}

// exp in a kernel's compute type: the vectorisable float version, std::exp for double.
CJ_VECTOR_INLINE float fast_exp(float x) { return exp_f32(x); }
inline double fast_exp(double x) { return std::exp(x); }

// The exact GELU x Φ(x) and its derivative Φ(x) + x φ(x): vectorisable in float, libm in double.
CJ_VECTOR_INLINE float gelu_erf(float x) { return x * normal_cdf_pdf_f32(x).cdf; }
inline double gelu_erf(double x) { return 0.5 * x * (1.0 + std::erf(x * 0.70710678118654752440)); }
CJ_VECTOR_INLINE float gelu_erf_derivative(float x) {
  const NormalCdfPdf n = normal_cdf_pdf_f32(x);
  return n.cdf + x * n.pdf;
}
inline double gelu_erf_derivative(double x) {
  return 0.5 * (1.0 + std::erf(x * 0.70710678118654752440)) + x * 0.39894228040143267794 * std::exp(-0.5 * x * x);
}

}  // namespace cj::cpu
