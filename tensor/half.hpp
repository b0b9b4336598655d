#pragma once
// The two 16-bit float formats as plain value types. Conversions from float round to nearest even
// (NaN stays NaN), exactly as PyTorch's c10::BFloat16 / c10::Half.
#include <cstdint>
#include <cstring>

namespace cj {

namespace detail {
inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
}  // namespace detail

struct bf16 {
  uint16_t bits = 0;
  bf16() = default;
  bf16(float f) : bits(from_float(f)) {}  // NOLINT: implicit like c10::BFloat16
  operator float() const { return detail::bits_float(uint32_t(bits) << 16); }
  static bf16 from_bits(uint16_t b) {
    bf16 h;
    h.bits = b;
    return h;
  }
  static uint16_t from_float(float f) {
    uint32_t u = detail::float_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // quiet NaN
    uint32_t rounding_bias = 0x7fffu + ((u >> 16) & 1u);                    // ties to even
    return uint16_t((u + rounding_bias) >> 16);
  }
};

struct f16 {
  uint16_t bits = 0;
  f16() = default;
  f16(float f) : bits(from_float(f)) {}  // NOLINT: implicit like c10::Half
  operator float() const { return to_float(bits); }
  static f16 from_bits(uint16_t b) {
    f16 h;
    h.bits = b;
    return h;
  }
  static uint16_t from_float(float f);
  static float to_float(uint16_t h);
};

inline uint16_t f16::from_float(float f) {
  uint32_t u = detail::float_bits(f);
  uint32_t sign = (u >> 16) & 0x8000u;
  uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return uint16_t(sign | 0x7e00u);   // NaN
  if (abs >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (abs < 0x38800000u) {
    // Result is subnormal (or zero): scale so the f16 subnormal unit 2^-24 becomes 1, and let the
    // float adder round to nearest even.
    float scaled = detail::bits_float(abs) * 16777216.0f;  // * 2^24
    // For |x| < 2^-14, x*2^24 < 1024 and is exact in float's mantissa only after rounding; use
    // the magic-number trick: adding 2^23 forces rounding at the unit place.
    float r = scaled + 8388608.0f;
    return uint16_t(sign | (detail::float_bits(r) - 0x4b000000u));
  }
  // Normal: rebias exponent (127 -> 15) and round the 13 dropped mantissa bits to nearest even.
  uint32_t mant_odd = (abs >> 13) & 1u;
  abs += 0xc8000fffu + mant_odd;  // -(112 << 23) + 0xfff + odd
  return uint16_t(sign | (abs >> 13));
}

inline float f16::to_float(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    // subnormal or zero: value = mant * 2^-24
    float v = float(mant) * 5.9604644775390625e-08f;
    return detail::bits_float(detail::float_bits(v) | sign);
  }
  if (exp == 31) return detail::bits_float(sign | 0x7f800000u | (mant << 13));
  return detail::bits_float(sign | ((exp + 112) << 23) | (mant << 13));
}

}  // namespace cj
