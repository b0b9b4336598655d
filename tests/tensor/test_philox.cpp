// The CJ_HD Philox transforms (tensor/philox.hpp) that the CPU and CUDA draws share: they give the
// stream the CPU gave with libm's ln/cos/sin before (f32 normals all but ~1 in 10^6 bit for bit,
// those 1 ulp apart; f64 to rounding),
// their ln and sincos are accurate, and the draws produce exactly what the functions compute.
#include <cmath>

#include "tensor/philox.hpp"
#include "tests/tensor/op_test_util.hpp"

using namespace cj;

namespace {

// The Box-Muller normal as the CPU computed it with libm before the shared functions.
double libm_normal(const uint32_t w[4], int q, bool wide) {
  const double two_pi = 6.283185307179586476925;
  double u1, u2;
  if (wide) {
    u1 = 1.0 - double(philox::word64(w, 0) >> 11) * 0x1.0p-53, u2 = double(philox::word64(w, 1) >> 11) * 0x1.0p-53;
  } else {
    const int j = q / 2;
    u1 = 1.0 - double(w[2 * j] >> 8) * 0x1.0p-24, u2 = double(w[2 * j + 1] >> 8) * 0x1.0p-24;
  }
  const double r = std::sqrt(-2.0 * std::log(u1));
  return r * (q % 2 == 0 ? std::cos(two_pi * u2) : std::sin(two_pi * u2));
}

TEST(Philox, NormalsMatchTheLibmStream) {
  int64_t f32_differ = 0;
  float f32_worst_ulp = 0;
  double f64_worst = 0;
  for (uint64_t b = 0; b < 200000; ++b) {
    uint32_t w[4];
    philox::block(2024, b, 0, w);
    for (int q = 0; q < 4; ++q) {
      const float got = float(philox::normal(w, q, false)), want = float(libm_normal(w, q, false));
      if (got == want) continue;
      ++f32_differ;
      // exact angles: at u = 1/4 libm's cos(pi/2 rounded) is 6e-17 where ours is exactly 0
      if (std::fabs(got - want) > 1e-15f)
        f32_worst_ulp = std::fmax(f32_worst_ulp, std::fabs(got - want) / (std::nextafter(std::fabs(want), INFINITY) - std::fabs(want)));
    }
    for (int q = 0; q < 2; ++q) {
      const double got = philox::normal(w, q, true), want = libm_normal(w, q, true);
      f64_worst = std::fmax(f64_worst, std::fabs(got - want));
    }
  }
  // libm rounds the angle 2 pi u before cos/sin and we do not: values near a zero of cos/sin differ
  // by ~1e-16, any other rarely by 1 ulp (a double on the other side of an f32 rounding boundary).
  EXPECT_LE(f32_differ, 4);
  EXPECT_LE(f32_worst_ulp, 1.0f);
  EXPECT_LT(f64_worst, 4e-15);
  std::printf("f32 normals differing from libm's: %lld of 800000 (worst %.0f ulp); f64: worst |diff| %.3g\n",
              (long long)f32_differ, f32_worst_ulp, f64_worst);
}

TEST(Philox, LogAndSincosAreAccurate) {
  double log_worst_ulp = 0, trig_worst = 0;
  for (uint64_t b = 0; b < 100000; ++b) {
    uint32_t w[4];
    philox::block(5, b, 0, w);
    const double x = 1.0 - double(philox::word64(w, 0) >> 11) * 0x1.0p-53;  // (0, 1] as Box-Muller's u1
    const long double exact = std::log(static_cast<long double>(x));
    if (x != 1.0)
      log_worst_ulp = std::fmax(log_worst_ulp, double(std::fabs((philox::log(x) - exact) / exact)) / 0x1.0p-53);
    const double u = double(philox::word64(w, 1) >> 11) * 0x1.0p-53;
    double s, c;
    philox::sincos_turns(u, s, c);
    const long double angle = 6.283185307179586476925286766559L * u;
    trig_worst = std::fmax(trig_worst, double(std::fabs(s - std::sin(angle))));
    trig_worst = std::fmax(trig_worst, double(std::fabs(c - std::cos(angle))));
  }
  EXPECT_LT(log_worst_ulp, 2.0);
  EXPECT_LT(trig_worst, 3e-16);
  EXPECT_EQ(philox::log(1.0), 0.0);
  EXPECT_NEAR(philox::log(0x1.0p-53), -53 * std::log(2.0), 1e-13);
  double s, c;
  philox::sincos_turns(0.25, s, c);
  EXPECT_EQ(s, 1.0);
  EXPECT_EQ(c, 0.0);
  std::printf("ln: worst %.2f half-ulps; sincos: worst abs error %.3g\n", log_worst_ulp, trig_worst);
}

TEST(Philox, DrawsProduceWhatTheSharedFunctionsCompute) {
  Generator gen(31);
  gen.set_state(31, 9);
  Tensor z = randn({6}, DType::f32, &gen);
  Tensor u = empty({3}, DType::f64);
  uniform_(u, -2, 5, &gen);
  Tensor k = randint(-7, 11, {3}, DType::i32, &gen);
  uint32_t w[4];
  for (int64_t i = 0; i < 6; ++i) {
    philox::block(31, 9 + uint64_t(i / 4), 0, w);
    EXPECT_EQ(z.at({i}), float(philox::normal(w, int(i % 4), false))) << i;
  }
  philox::Draw d;
  d.bits = 53, d.per_block = 2, d.scale = 0x1.0p-53, d.a = -2, d.b = 5;
  double reals[4];
  for (int64_t i = 0; i < 3; ++i) {
    philox::block(31, 11 + uint64_t(i / 2), 0, w);
    philox::real_values(d, w, reals);
    EXPECT_EQ(u.at({i}), reals[i % 2]) << i;
    EXPECT_EQ(reals[i % 2], -2 + 7 * philox::uniform(w, int(i % 2), 53, 0x1.0p-53)) << i;
  }
  philox::Draw di;
  di.kind = philox::Draw::integer, di.per_block = 2, di.low = uint64_t(int64_t(-7)), di.range = 18;
  int64_t ints[4];
  for (int64_t i = 0; i < 3; ++i) {
    philox::block(31, 13 + uint64_t(i / 2), 0, w);
    philox::integer_values(di, w, ints);
    EXPECT_EQ(k.at({i}), double(ints[i % 2])) << i;
    EXPECT_EQ(ints[i % 2], -7 + int64_t(philox::word64(w, int(i % 2)) % 18)) << i;
  }
  EXPECT_EQ(gen.offset(), 15u);
}

}  // namespace
