// Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as 1, 2, 3", SC 2011)
// and the draws built on it. The mapping from (seed, offset, element index) to a value is written
// out in random.hpp.
#include "tensor/random.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "tensor/backend.hpp"
#include "tensor/cpu/parallel.hpp"
#include "tensor/dispatch.hpp"
#include "tensor/ops/views.hpp"

namespace cj {

void philox4x32_10(uint64_t seed, uint64_t counter_lo, uint64_t counter_hi, uint32_t out[4]) {
  philox::block(seed, counter_lo, counter_hi, out);
}

Generator& default_generator() {
  static Generator gen(0);
  return gen;
}

void manual_seed(uint64_t seed) { default_generator().set_state(seed, 0); }

// ---- draws -------------------------------------------------------------------------------------------

namespace {

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

// 2^-bits (0 < bits < 1023), exactly.
double exp2_neg(int bits) {
  const uint64_t pattern = uint64_t(1023 - bits) << 52;
  double v;
  std::memcpy(&v, &pattern, sizeof v);
  return v;
}

philox::Draw uniform_draw(DType t, double low, double high) {
  philox::Draw d;
  d.kind = philox::Draw::uniform;
  d.bits = uniform_bits(t);
  d.per_block = d.bits == 53 ? 2 : 4;
  d.scale = exp2_neg(d.bits);
  d.a = low, d.b = high;
  return d;
}

// Fills the CPU tensor t (any layout) in row-major order, per_block elements from each Philox block
// first, first + 1, ...: values(words, out) writes a block's per_block values (double or int64).
template <typename V, typename Values>
void fill_blocks(const char* op, const Tensor& t, int per_block, uint64_t seed, uint64_t first, const Values& values) {
  Tensor dst = t.is_contiguous() ? t : Tensor::empty(t.shape(), t.dtype());
  const int64_t n = t.numel();
  const int64_t blocks = (n + per_block - 1) / per_block;
  dispatch_all(t.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = static_cast<T*>(dst.data_ptr());
    // Blocks are independent (counter-based), so threads split them and the values stay the same.
    cpu::parallel_for(blocks, 4096, [&](int64_t b0, int64_t b1) {
      uint32_t w[4];
      V v[4];
      for (int64_t b = b0; b < b1; ++b) {
        philox::block(seed, first + uint64_t(b), 0, w);
        values(w, v);
        const int64_t base = b * per_block;
        for (int q = 0; q < per_block && base + q < n; ++q) p[base + q] = cast_value<T>(v[q]);
      }
    });
  });
  if (!dst.is_same(t)) ops::copy_(t, dst);
  t.bump_version();
}

// Reserves the blocks a draw over t needs from gen and fills t (on its device) from them.
void draw_into(const Tensor& t, const philox::Draw& draw, Generator& gen) {
  const uint64_t blocks = uint64_t((t.numel() + draw.per_block - 1) / draw.per_block);
  const uint64_t first = gen.reserve(blocks);
  ops::philox_fill_(t, draw, gen.seed(), first);
}

void check_floating(const char* op, DType t) {
  CJ_CHECK(is_floating(t), op, ": expected a floating dtype (f32, f64, bf16, f16), got ", dtype_name(t));
}

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

}  // namespace

void uniform_(const Tensor& t, double low, double high, Generator* gen) {
  check_floating("uniform_", t.dtype());
  CJ_CHECK(low <= high, "uniform_: expected low <= high, got [", low, ", ", high, ")");
  draw_into(t, uniform_draw(t.dtype(), low, high), resolve(gen));
}

void normal_(const Tensor& t, double mean, double std, Generator* gen) {
  check_floating("normal_", t.dtype());
  CJ_CHECK(std >= 0, "normal_: expected std >= 0, got ", std);
  philox::Draw d;
  d.kind = philox::Draw::normal;
  d.per_block = t.dtype() == DType::f64 ? 2 : 4;
  d.a = mean, d.b = std;
  draw_into(t, d, resolve(gen));
}

// As torch.nn.init.trunc_normal_: u uniform in [cdf(a'), cdf(b')] (as 2u - 1), then
// mean + std * sqrt(2) * erfinv(2u - 1), clamped to [a, b].
void trunc_normal_(const Tensor& t, double mean, double std, double a, double b, Generator* gen) {
  check_floating("trunc_normal_", t.dtype());
  CJ_CHECK(std > 0 && a < b, "trunc_normal_: expected std > 0 and a < b, got std ", std, ", [a, b] = [", a, ", ", b,
           "]");
  const double lo = 2 * normal_cdf((a - mean) / std) - 1, hi = 2 * normal_cdf((b - mean) / std) - 1;
  if (!t.is_cpu()) {
    // erfinv needs libm's erf, which differs between glibc and CUDA in the last bit: drawn on the
    // host, so a device tensor gets exactly the CPU's values (init runs once; speed is no concern).
    Tensor host = Tensor::empty(t.shape(), t.dtype());
    trunc_normal_(host, mean, std, a, b, gen);
    ops::copy_(t, host);
    return;
  }
  const philox::Draw d = uniform_draw(t.dtype(), lo, hi);
  Generator& g = resolve(gen);
  const uint64_t first = g.reserve(uint64_t((t.numel() + d.per_block - 1) / d.per_block));
  fill_blocks<double>("trunc_normal_", t, d.per_block, g.seed(), first, [&](const uint32_t* w, double* out) {
    philox::real_values(d, w, out);
    for (int q = 0; q < d.per_block; ++q) out[q] = std::clamp(mean + std * std::sqrt(2.0) * erfinv(out[q]), a, b);
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
  philox::Draw d;
  d.kind = philox::Draw::integer;
  d.per_block = 2;
  d.low = uint64_t(low), d.range = uint64_t(high) - uint64_t(low);
  draw_into(t, d, resolve(gen));
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
    for (int64_t q = 0; q < 2 && int64_t(2 * b) + q < n; ++q) keys[2 * b + q] = philox::word64(w, int(q));
  }
  Tensor out = Tensor::empty({n}, DType::i64);
  int64_t* p = out.data<int64_t>();
  std::iota(p, p + n, int64_t(0));
  std::stable_sort(p, p + n, [&](int64_t i, int64_t j) { return keys[i] < keys[j]; });
  return out;
}

namespace ops {

void philox_fill_(const Tensor& t, const philox::Draw& draw, uint64_t seed, uint64_t first_block) {
  CJ_FORWARD_TO_DEVICE(decltype(philox_fill_), "philox_fill_", t, t, draw, seed, first_block);
  CJ_CHECK(t.defined(), "philox_fill_: tensor is undefined");
  if (draw.kind == philox::Draw::integer)
    fill_blocks<int64_t>("randint", t, draw.per_block, seed, first_block,
                         [&](const uint32_t* w, int64_t* out) { philox::integer_values(draw, w, out); });
  else
    fill_blocks<double>(draw.kind == philox::Draw::normal ? "normal_" : "uniform_", t, draw.per_block, seed,
                        first_block, [&](const uint32_t* w, double* out) { philox::real_values(draw, w, out); });
}

}  // namespace ops

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
