#pragma once
// The Philox4x32-10 block function and the transforms from its 32-bit words to uniforms, normals
// and integers, as CJ_HD functions: the CPU draws (tensor/random.cpp) and the CUDA kernel
// (cuda/random.cu) run this very code, so both give the same values bit for bit. random.hpp
// documents the (seed, offset, element) -> value mapping these functions implement.
//
// Bit-exactness rests on two things: every operation here is a correctly rounded IEEE operation
// (+ - * / sqrt, no libm: ln and sincos are written out below, because glibc's and CUDA's differ
// in the last bit), and no compiler fuses a*b+c (-ffp-contract=off for C++, -fmad=false for the
// .cu files that include this).
#include <math.h>

#include <cstdint>
#include <cstring>

#include "tensor/host_device.hpp"

namespace cj::philox {

// One Philox4x32-10 block: four 32-bit words for key = seed and the 128-bit counter (lo, hi).
CJ_HD void block(uint64_t seed, uint64_t counter_lo, uint64_t counter_hi, uint32_t out[4]) {
  const uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;  // round multipliers
  const uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;  // key schedule (Weyl) increments
  uint32_t c0 = uint32_t(counter_lo), c1 = uint32_t(counter_lo >> 32), c2 = uint32_t(counter_hi),
           c3 = uint32_t(counter_hi >> 32);
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    if (round > 0) k0 += kW0, k1 += kW1;  // the key is bumped between rounds
    const uint64_t p0 = uint64_t(kM0) * c0, p1 = uint64_t(kM1) * c2;
    const uint32_t n0 = uint32_t(p1 >> 32) ^ c1 ^ k0, n2 = uint32_t(p0 >> 32) ^ c3 ^ k1;
    c0 = n0, c1 = uint32_t(p1), c2 = n2, c3 = uint32_t(p0);
  }
  out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

CJ_HD uint64_t word64(const uint32_t w[4], int q) { return (uint64_t(w[2 * q]) << 32) | w[2 * q + 1]; }

// The uniform in [0, 1) of slot q for a dtype with `bits` mantissa bits; scale = 2^-bits.
CJ_HD double uniform(const uint32_t w[4], int q, int bits, double scale) {
  if (bits == 53) return double(word64(w, q) >> 11) * scale;
  return double(w[q] >> (32 - bits)) * scale;
}

// c[0] + x (c[1] + x (c[2] + ...)) for the n coefficients c.
CJ_HD double horner(double x, const double* c, int n) {
  double r = c[n - 1];
  for (int i = n - 2; i >= 0; --i) r = r * x + c[i];
  return r;
}

// ln(x) for a positive normal double, to about 1 ulp: x = m 2^e with m in [sqrt(1/2), sqrt(2)),
// ln(m) = 2 atanh(s) with s = (m - 1) / (m + 1), written as f - f^2/2 + s (f^2/2 + R(s^2)) so the
// large term f = m - 1 is exact (fdlibm's arrangement; the series' own coefficients 2/(2k+1)).
CJ_HD double log(double x) {
  uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  int e = int((bits >> 52) & 0x7ff) - 1023;
  bits = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
  double m;
  std::memcpy(&m, &bits, sizeof m);  // in [1, 2)
  if (m > 1.4142135623730951) m *= 0.5, e += 1;
  const double f = m - 1.0, s = f / (2.0 + f), z = s * s, half_f2 = 0.5 * f * f;
  const double series[11] = {2.0 / 3.0,  2.0 / 5.0,  2.0 / 7.0,  2.0 / 9.0,  2.0 / 11.0, 2.0 / 13.0,
                             2.0 / 15.0, 2.0 / 17.0, 2.0 / 19.0, 2.0 / 21.0, 2.0 / 23.0};
  const double r = z * horner(z, series, 11);
  // ln 2 split so that e * hi is exact for |e| < 2^11.
  const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  const double de = double(e);
  return de * ln2_hi + (f - (half_f2 - (s * (half_f2 + r) + de * ln2_lo)));
}

// sin and cos of an angle a in [0, pi/4] (Taylor series to the 19th/18th power: < 2^-60 there).
CJ_HD void sincos_small(double a, double& s, double& c) {
  // sin a = a + a^3 (-1/3! + a^2/5! - ...),  cos a = 1 - a^2/2 + a^4 (1/4! - a^2/6! + ...)
  const double sin_c[9] = {-1.0 / 6.0, 1.0 / 120.0, -1.0 / 5040.0, 1.0 / 362880.0, -1.0 / 39916800.0,
                           1.0 / 6227020800.0, -1.0 / 1307674368000.0, 1.0 / 355687428096000.0,
                           -1.0 / 121645100408832000.0};
  const double cos_c[8] = {1.0 / 24.0, -1.0 / 720.0, 1.0 / 40320.0, -1.0 / 3628800.0, 1.0 / 479001600.0,
                           -1.0 / 87178291200.0, 1.0 / 20922789888000.0, -1.0 / 6402373705728000.0};
  const double a2 = a * a;
  s = a + a * (a2 * horner(a2, sin_c, 9));
  c = 1.0 - 0.5 * a2 + a2 * a2 * horner(a2, cos_c, 8);
}

// sin and cos of 2 pi u for u in [0, 1) a multiple of 2^-53: the quadrant and the octant
// reflection are taken on u exactly, so only the final angle in [0, pi/4] is ever rounded.
CJ_HD void sincos_turns(double u, double& sin_out, double& cos_out) {
  const double t = u * 4.0;  // exact
  const int quadrant = int(t);
  double r = t - double(quadrant);  // exact, in [0, 1): the angle r pi/2 within the quadrant
  const bool reflect = r > 0.5;
  if (reflect) r = 1.0 - r;  // exact (Sterbenz)
  const double pio2_hi = 1.5707963267948966, pio2_lo = 6.123233995736766e-17;
  double s, c;
  sincos_small(r * pio2_hi + r * pio2_lo, s, c);
  if (reflect) {  // sin(pi/2 - a) = cos(a)
    const double tmp = s;
    s = c, c = tmp;
  }
  switch (quadrant) {  // angle = quadrant pi/2 + phi
    case 0: sin_out = s, cos_out = c; break;
    case 1: sin_out = c, cos_out = -s; break;
    case 2: sin_out = -s, cos_out = -c; break;
    default: sin_out = -c, cos_out = s; break;
  }
}

// The two standard normals of pair j of a block (Box-Muller on the pair's uniforms: 24-bit ones
// for the 4-slot dtypes, the block's two 53-bit ones when `wide`): slot 2j takes the cosine,
// slot 2j + 1 the sine.
CJ_HD void normal_pair(const uint32_t w[4], int j, bool wide, double& z_cos, double& z_sin) {
  double u1, u2;
  if (wide) {
    u1 = 1.0 - uniform(w, 0, 53, 0x1.0p-53), u2 = uniform(w, 1, 53, 0x1.0p-53);
  } else {
    u1 = 1.0 - uniform(w, 2 * j, 24, 0x1.0p-24), u2 = uniform(w, 2 * j + 1, 24, 0x1.0p-24);
  }
  const double radius = ::sqrt(-2.0 * philox::log(u1));
  double s, c;
  sincos_turns(u2, s, c);
  z_cos = radius * c, z_sin = radius * s;
}

// The standard normal of slot q.
CJ_HD double normal(const uint32_t w[4], int q, bool wide) {
  double z_cos, z_sin;
  normal_pair(w, wide ? 0 : q / 2, wide, z_cos, z_sin);
  return q % 2 == 0 ? z_cos : z_sin;
}

// What one draw computes per element (see random.hpp); filled in by the host, read by both sides.
struct Draw {
  enum Kind : int { uniform, normal, integer } kind = uniform;
  int per_block = 4;   // elements one Philox block yields (E)
  int bits = 24;       // uniform mantissa bits of the dtype
  double scale = 0x1.0p-24;  // 2^-bits
  double a = 0, b = 1;       // uniform: low, high; normal: mean, std
  uint64_t low = 0, range = 1;  // integer: low + word mod range (two's complement)
};

// The per_block values of one block (uniform, normal draws; normals a pair at a time).
CJ_HD void real_values(const Draw& d, const uint32_t w[4], double out[4]) {
  if (d.kind == Draw::uniform) {
    for (int q = 0; q < d.per_block; ++q) out[q] = d.a + (d.b - d.a) * uniform(w, q, d.bits, d.scale);
    return;
  }
  for (int j = 0; j < d.per_block / 2; ++j) {
    double z_cos, z_sin;
    normal_pair(w, j, d.per_block == 2, z_cos, z_sin);
    out[2 * j] = d.a + d.b * z_cos, out[2 * j + 1] = d.a + d.b * z_sin;
  }
}
// The per_block values of one block of an integer draw.
CJ_HD void integer_values(const Draw& d, const uint32_t w[4], int64_t out[4]) {
  for (int q = 0; q < d.per_block; ++q) out[q] = int64_t(d.low + word64(w, q) % d.range);
}

}  // namespace cj::philox
