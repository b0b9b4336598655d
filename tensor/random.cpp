// Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as 1, 2, 3", SC 2011)
// and the draws built on it. The mapping from (seed, offset, element index) to a value is written
// out in random.hpp.
#include "tensor/random.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "tensor/cpu/parallel.hpp"
#include "tensor/dispatch.hpp"
#include "tensor/ops/views.hpp"

namespace cj {

// ---- the block function ------------------------------------------------------------------------------

namespace {
constexpr uint32_t kPhiloxM0 = 0xD2511F53u, kPhiloxM1 = 0xCD9E8D57u;  // round multipliers
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u, kPhiloxW1 = 0xBB67AE85u;  // key schedule (Weyl) increments

inline void mul_hi_lo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  uint64_t p = uint64_t(a) * b;
  hi = uint32_t(p >> 32);
  lo = uint32_t(p);
}
}  // namespace

void philox4x32_10(uint64_t seed, uint64_t counter_lo, uint64_t counter_hi, uint32_t out[4]) {
  uint32_t c0 = uint32_t(counter_lo), c1 = uint32_t(counter_lo >> 32), c2 = uint32_t(counter_hi),
           c3 = uint32_t(counter_hi >> 32);
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    if (round > 0) k0 += kPhiloxW0, k1 += kPhiloxW1;  // the key is bumped between rounds
    uint32_t hi0, lo0, hi1, lo1;
    mul_hi_lo(kPhiloxM0, c0, hi0, lo0);
    mul_hi_lo(kPhiloxM1, c2, hi1, lo1);
    const uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0, c1 = lo1, c2 = n2, c3 = lo0;
  }
  out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

Generator& default_generator() {
  static Generator gen(0);
  return gen;
}

void manual_seed(uint64_t seed) { default_generator().set_state(seed, 0); }

// ---- draws -------------------------------------------------------------------------------------------

namespace {

constexpr double kTwoPi = 6.283185307179586476925;

Generator& resolve(Generator* gen) { return gen ? *gen : default_generator(); }

// Mantissa bits of a uniform in dtype t (see random.hpp).
int uniform_bits(DType t) {
  switch (t) {
    case DType::f64: return 53;
    case DType::bf16: return 8;
    case DType::f16: return 11;
    default: return 24;
  }
}

// 2^-bits (0 < bits < 1023) from its exponent field: std::ldexp is a libm call per drawn element.
inline double exp2_neg(int bits) {
  const uint64_t pattern = uint64_t(1023 - bits) << 52;
  double v;
  std::memcpy(&v, &pattern, sizeof v);
  return v;
}

// The uniform in [0, 1) of slot q of a block, for a dtype with `bits` mantissa bits.
inline double block_uniform(const uint32_t w[4], int64_t q, int bits) {
  if (bits == 53) return double(((uint64_t(w[2 * q]) << 32) | w[2 * q + 1]) >> 11) * 0x1.0p-53;
  return double(w[q] >> (32 - bits)) * exp2_neg(bits);
}
inline int64_t uniforms_per_block(int bits) { return bits == 53 ? 2 : 4; }

// The standard normal of slot q (Box-Muller on the slot's pair of uniforms).
inline double block_normal(const uint32_t w[4], int64_t q, bool wide) {
  double u1, u2;
  if (wide) {
    u1 = 1.0 - block_uniform(w, 0, 53), u2 = block_uniform(w, 1, 53);
  } else {
    int64_t j = q / 2;
    u1 = 1.0 - block_uniform(w, 2 * j, 24), u2 = block_uniform(w, 2 * j + 1, 24);
  }
  double r = std::sqrt(-2.0 * std::log(u1));
  return r * (q % 2 == 0 ? std::cos(kTwoPi * u2) : std::sin(kTwoPi * u2));
}

inline uint64_t block_word64(const uint32_t w[4], int64_t q) { return (uint64_t(w[2 * q]) << 32) | w[2 * q + 1]; }

// Fills t (any layout) with value(words, slot) for its elements in row-major order, E per block.
template <typename Value>
void fill_draw(const char* op, const Tensor& t, int64_t per_block, Generator& gen, const Value& value) {
  CJ_CHECK(t.is_cpu(), op, ": tensor is on ", t.device().str(), " and this build has no kernel there (CPU only)");
  Tensor dst = t.is_contiguous() ? t : Tensor::empty(t.shape(), t.dtype());
  const int64_t n = t.numel();
  const uint64_t blocks = uint64_t((n + per_block - 1) / per_block);
  const uint64_t first = gen.reserve(blocks), seed = gen.seed();
  dispatch_all(t.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = static_cast<T*>(dst.data_ptr());
    // Blocks are independent (counter-based), so threads split them and the values stay the same.
    cpu::parallel_for(int64_t(blocks), 4096, [&](int64_t b0, int64_t b1) {
      uint32_t w[4];
      for (int64_t b = b0; b < b1; ++b) {
        philox4x32_10(seed, first + uint64_t(b), 0, w);
        const int64_t base = b * per_block;
        for (int64_t q = 0; q < per_block && base + q < n; ++q) p[base + q] = cast_value<T>(value(w, q));
      }
    });
  });
  if (!dst.is_same(t)) ops::copy_(t, dst);
  t.bump_version();
}

void check_floating(const char* op, DType t) {
  CJ_CHECK(is_floating(t), op, ": expected a floating dtype (f32, f64, bf16, f16), got ", dtype_name(t));
}

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

}  // namespace

void uniform_(const Tensor& t, double low, double high, Generator* gen) {
  check_floating("uniform_", t.dtype());
  CJ_CHECK(low <= high, "uniform_: expected low <= high, got [", low, ", ", high, ")");
  const int bits = uniform_bits(t.dtype());
  fill_draw("uniform_", t, uniforms_per_block(bits), resolve(gen),
            [&](const uint32_t* w, int64_t q) { return low + (high - low) * block_uniform(w, q, bits); });
}

void normal_(const Tensor& t, double mean, double std, Generator* gen) {
  check_floating("normal_", t.dtype());
  CJ_CHECK(std >= 0, "normal_: expected std >= 0, got ", std);
  const bool wide = t.dtype() == DType::f64;
  fill_draw("normal_", t, wide ? 2 : 4, resolve(gen),
            [&](const uint32_t* w, int64_t q) { return mean + std * block_normal(w, q, wide); });
}

// As torch.nn.init.trunc_normal_: u uniform in [cdf(a'), cdf(b')] (as 2u - 1), then
// mean + std * sqrt(2) * erfinv(2u - 1), clamped to [a, b].
void trunc_normal_(const Tensor& t, double mean, double std, double a, double b, Generator* gen) {
  check_floating("trunc_normal_", t.dtype());
  CJ_CHECK(std > 0 && a < b, "trunc_normal_: expected std > 0 and a < b, got std ", std, ", [a, b] = [", a, ", ", b,
           "]");
  const double lo = 2 * normal_cdf((a - mean) / std) - 1, hi = 2 * normal_cdf((b - mean) / std) - 1;
  const int bits = uniform_bits(t.dtype());
  fill_draw("trunc_normal_", t, uniforms_per_block(bits), resolve(gen), [&](const uint32_t* w, int64_t q) {
    double v = mean + std * std::sqrt(2.0) * erfinv(lo + (hi - lo) * block_uniform(w, q, bits));
    return std::clamp(v, a, b);
  });
}

Tensor rand(const Shape& shape, TensorOptions options, Generator* gen) {
  check_floating("rand", options.dtype);
  Tensor t = Tensor::empty(shape, options);
  uniform_(t, 0, 1, gen);
  return t;
}

Tensor randn(const Shape& shape, TensorOptions options, Generator* gen) {
  check_floating("randn", options.dtype);
  Tensor t = Tensor::empty(shape, options);
  normal_(t, 0, 1, gen);
  return t;
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, TensorOptions options, Generator* gen) {
  CJ_CHECK(high > low, "randint: expected low < high, got [", low, ", ", high, ")");
  CJ_CHECK(options.dtype != DType::b8, "randint: bool is not a valid dtype");
  Tensor t = Tensor::empty(shape, options);
  const uint64_t range = uint64_t(high) - uint64_t(low);
  fill_draw("randint", t, 2, resolve(gen),
            [&](const uint32_t* w, int64_t q) { return int64_t(uint64_t(low) + block_word64(w, q) % range); });
  return t;
}

Tensor randperm(int64_t n, Generator* gen) {
  CJ_CHECK(n >= 0, "randperm: n must be non-negative, got ", n);
  std::vector<uint64_t> keys(n);
  Generator& g = resolve(gen);
  const uint64_t blocks = uint64_t((n + 1) / 2), first = g.reserve(blocks);
  uint32_t w[4];
  for (uint64_t b = 0; b < blocks; ++b) {
    philox4x32_10(g.seed(), first + b, 0, w);
    for (int64_t q = 0; q < 2 && int64_t(2 * b) + q < n; ++q) keys[2 * b + q] = block_word64(w, q);
  }
  Tensor out = Tensor::empty({n}, DType::i64);
  int64_t* p = out.data<int64_t>();
  std::iota(p, p + n, int64_t(0));
  std::stable_sort(p, p + n, [&](int64_t i, int64_t j) { return keys[i] < keys[j]; });
  return out;
}

// Giles' single-precision approximation ("Approximating the erfinv function", GPU Computing Gems,
// 2011) as a start, polished to double precision by two Newton steps on erf(x) = y.
double erfinv(double y) {
  if (std::isnan(y) || y < -1 || y > 1) return std::nan("");
  if (y == 1) return INFINITY;
  if (y == -1) return -INFINITY;
  double w = -std::log((1.0 - y) * (1.0 + y)), p;
  if (w < 5.0) {
    w -= 2.5;
    p = 2.81022636e-08;
    for (double c : {3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                     -0.00417768164, 0.246640727, 1.50140941})
      p = c + p * w;
  } else {
    w = std::sqrt(w) - 3.0;
    p = -0.000200214257;
    for (double c : {0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047,
                     1.00167406, 2.83297682})
      p = c + p * w;
  }
  double x = p * y;
  const double two_over_sqrt_pi = 1.1283791670955125739;
  for (int i = 0; i < 2; ++i) x -= (std::erf(x) - y) / (two_over_sqrt_pi * std::exp(-x * x));
  return x;
}

}  // namespace cj
