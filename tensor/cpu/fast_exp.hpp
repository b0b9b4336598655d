#pragma once
// A branch-free exp for float that compilers vectorise (std::exp is a scalar libm call): softmax in
// attention spends most of its time here. exp(x) = 2^n · exp(r) with n = round(x / ln 2) and
// |r| <= ln2 / 2 (Cody–Waite split of ln 2), exp(r) by Cephes' degree-7 polynomial; about 1 ulp.
// Inputs below -87.33 (including -inf, i.e. masked scores) give exactly 0, inputs above 88.37 give
// exp(88.37) (softmax arguments are <= 0), NaN stays NaN.
#include <cstdint>
#include <cstring>

namespace cj::cpu {

inline float exp_fast(float x_in) {
  const float x = x_in < -87.33f ? -87.33f : (x_in > 88.37f ? 88.37f : (x_in == x_in ? x_in : 0.0f));
  const float n = __builtin_floorf(x * 1.44269504088896341f + 0.5f);
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.0f;
  const int32_t bits = (int32_t(n) + 127) << 23;  // 2^n; n >= -126 after the clamp
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return x_in < -87.33f ? 0.0f : (x_in == x_in ? e * scale : x_in);
}

}  // namespace cj::cpu
