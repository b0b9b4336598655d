// Philox4x32-10 known answers, the documented (seed, offset, index) -> value mapping, determinism,
// and the statistics of each distribution.
#include <set>

#include "tests/tensor/op_test_util.hpp"

using namespace cj;

namespace {

double sample_mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / double(v.size());
}
double sample_var(const std::vector<double>& v) {
  double m = sample_mean(v), s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return s / double(v.size() - 1);
}

TEST(Random, PhiloxMatchesRandom123KnownAnswers) {
  // kat_vectors of Random123 for philox4x32_10 (counter words c0..c3, key words k0, k1).
  uint32_t out[4];
  philox4x32_10(0, 0, 0, out);
  EXPECT_EQ(out[0], 0x6627e8d5u);
  EXPECT_EQ(out[1], 0xe169c58du);
  EXPECT_EQ(out[2], 0xbc57ac4cu);
  EXPECT_EQ(out[3], 0x9b00dbd8u);
  philox4x32_10(~0ull, ~0ull, ~0ull, out);
  EXPECT_EQ(out[0], 0x408f276du);
  EXPECT_EQ(out[1], 0x41c83b0eu);
  EXPECT_EQ(out[2], 0xa20bc7c6u);
  EXPECT_EQ(out[3], 0x6d5451fdu);
  // counter (243f6a88, 85a308d3, 13198a2e, 03707344), key (a4093822, 299f31d0): digits of pi
  philox4x32_10(0x299f31d0a4093822ull, 0x85a308d3243f6a88ull, 0x0370734413198a2eull, out);
  EXPECT_EQ(out[0], 0xd16cfe09u);
  EXPECT_EQ(out[1], 0x94fdccebu);
  EXPECT_EQ(out[2], 0x5001e420u);
  EXPECT_EQ(out[3], 0x24126ea1u);
}

TEST(Random, ElementIDependsOnlyOnSeedOffsetAndI) {
  Generator gen(1234);
  gen.set_state(1234, 77);
  Tensor u = rand({10}, DType::f32, &gen);
  EXPECT_EQ(gen.offset(), 77u + 3u);  // ceil(10 / 4) blocks
  std::vector<float> v = to_vector<float>(u);
  for (int64_t i = 0; i < 10; ++i) {
    uint32_t w[4];
    philox4x32_10(1234, 77 + i / 4, 0, w);
    EXPECT_EQ(v[i], float(double(w[i % 4] >> 8) * 0x1.0p-24)) << i;
  }
  gen.set_state(99, 5);
  Tensor d = rand({3}, DType::f64, &gen);
  uint32_t w[4];
  philox4x32_10(99, 6, 0, w);  // element 2 is slot 0 of the second block
  EXPECT_EQ(d.at({2}), double(((uint64_t(w[0]) << 32 | w[1]) >> 11)) * 0x1.0p-53);
}

TEST(Random, SameSeedSameValuesAndChunkedDrawsEqualOneDraw) {
  manual_seed(42);
  Tensor a = randn({1000});
  manual_seed(42);
  Tensor b = randn({1000});
  EXPECT_EQ(to_vector<float>(a), to_vector<float>(b));
  manual_seed(43);
  EXPECT_NE(to_vector<float>(randn({1000})), to_vector<float>(a));
  // 8 + 12 elements (f32: 4 per block) = one draw of 20; f64 (2 per block): 6 + 5 = 11
  for (DType dt : {DType::f32, DType::f64, DType::bf16}) {
    Generator whole(7), parts(7);
    std::vector<double> one = test::doubles(rand({20}, dt, &whole));
    std::vector<double> first = test::doubles(rand({8}, dt, &parts)), second = test::doubles(rand({12}, dt, &parts));
    first.insert(first.end(), second.begin(), second.end());
    EXPECT_EQ(first, one) << dtype_name(dt);
    Generator n1(9), n2(9);
    std::vector<double> nz = test::doubles(randn({12}, dt, &n1));
    std::vector<double> nz_a = test::doubles(randn({4}, dt, &n2)), nz_b = test::doubles(randn({8}, dt, &n2));
    nz_a.insert(nz_a.end(), nz_b.begin(), nz_b.end());
    EXPECT_EQ(nz_a, nz) << dtype_name(dt);
  }
  // a generator is independent of the default one
  Generator g(42);
  manual_seed(42);
  EXPECT_EQ(to_vector<float>(rand({5}, DType::f32, &g)), to_vector<float>(rand({5})));
}

TEST(Random, UniformStatisticsAndRange) {
  Generator gen(1);
  for (DType dt : test::kFloatDTypes) {
    std::vector<double> v = test::doubles(rand({400000}, dt, &gen));
    for (double x : v) ASSERT_TRUE(x >= 0 && x < 1) << x;
    // 5 sigma: mean sd = sqrt(1/12 / n) = 4.6e-4
    EXPECT_NEAR(sample_mean(v), 0.5, 2.3e-3) << dtype_name(dt);
    EXPECT_NEAR(sample_var(v), 1.0 / 12, 1.5e-3) << dtype_name(dt);
  }
  // bf16 uniforms sit on the 2^-8 grid, f16 on 2^-11: exact in the dtype, never rounded up to 1
  for (double x : test::doubles(rand({1000}, DType::bf16, &gen))) EXPECT_EQ(x * 256, std::floor(x * 256));
  Tensor t = zeros({4, 6});
  Tensor view = ops::slice(t, 1, 0, 6, 2);  // uniform_ fills only the view
  uniform_(view, -3, -2, &gen);
  std::vector<double> all = test::doubles(t);
  for (int64_t i = 0; i < 24; ++i) {
    if (i % 2 == 0) EXPECT_TRUE(all[i] >= -3 && all[i] < -2) << all[i];
    else EXPECT_EQ(all[i], 0);
  }
}

TEST(Random, NormalStatistics) {
  Generator gen(2);
  for (DType dt : {DType::f32, DType::f64, DType::bf16}) {
    std::vector<double> v = test::doubles(randn({400000}, dt, &gen));
    EXPECT_NEAR(sample_mean(v), 0, 8e-3) << dtype_name(dt);  // 5 sigma = 5 / sqrt(n)
    EXPECT_NEAR(sample_var(v), 1, 1.2e-2) << dtype_name(dt);
    // the fraction beyond 2 sigma (4.55%) checks the shape, not just two moments
    double beyond = 0;
    for (double x : v) beyond += std::fabs(x) > 2;
    EXPECT_NEAR(beyond / double(v.size()), 0.0455, 2e-3) << dtype_name(dt);
  }
  Tensor t = empty({200000}, DType::f32);
  normal_(t, 3, 0.5, &gen);
  std::vector<double> v = test::doubles(t);
  EXPECT_NEAR(sample_mean(v), 3, 0.5 * 8e-3);
  EXPECT_NEAR(std::sqrt(sample_var(v)), 0.5, 0.5 * 1e-2);
}

TEST(Random, TruncNormalStaysInBoundsWithTheTruncatedMoments) {
  EXPECT_NEAR(erfinv(0.5), 0.4769362762044699, 1e-15);
  for (double y : {-0.999999, -0.9, -0.3, 0.0, 0.1, 0.77, 0.99999999})
    EXPECT_NEAR(std::erf(erfinv(y)), y, 1e-15) << y;
  EXPECT_EQ(erfinv(1), INFINITY);
  EXPECT_TRUE(std::isnan(erfinv(1.5)));
  Generator gen(3);
  // N(0, 1) truncated to [-2, 2]: mean 0, variance 1 - 2 * 2 phi(2) / (Phi(2) - Phi(-2)) = 0.77374
  Tensor t = empty({400000}, DType::f32);
  trunc_normal_(t, 0, 1, -2, 2, &gen);
  std::vector<double> v = test::doubles(t);
  for (double x : v) ASSERT_TRUE(x >= -2 && x <= 2) << x;
  EXPECT_NEAR(sample_mean(v), 0, 7e-3);
  EXPECT_NEAR(sample_var(v), 0.773741, 6e-3);
  // ViT init: std 0.02 in [-2, 2] is effectively untruncated
  Tensor w = empty({100000}, DType::f32);
  trunc_normal_(w, 0, 0.02, -2, 2, &gen);
  EXPECT_NEAR(std::sqrt(sample_var(test::doubles(w))), 0.02, 3e-4);
  // one-sided window far in the tail stays inside it
  Tensor tail = empty({1000}, DType::f64);
  trunc_normal_(tail, 0, 1, 3, 4, &gen);
  for (double x : test::doubles(tail)) ASSERT_TRUE(x >= 3 && x <= 4) << x;
}

TEST(Random, RandintAndRandperm) {
  Generator gen(4);
  std::vector<double> v = test::doubles(randint(-3, 4, {70000}, DType::i64, &gen));
  std::vector<int> counts(7, 0);
  for (double x : v) {
    ASSERT_TRUE(x >= -3 && x < 4) << x;
    ++counts[int(x) + 3];
  }
  for (int c : counts) EXPECT_NEAR(c, 10000, 500);  // 5 sigma for a binomial(70000, 1/7)
  EXPECT_EQ(randint(0, 10, {3}, DType::i32, &gen).dtype(), DType::i32);
  Tensor p = randperm(1000, &gen);
  std::vector<int64_t> pv = to_vector<int64_t>(p);
  EXPECT_EQ(std::set<int64_t>(pv.begin(), pv.end()).size(), 1000u);
  EXPECT_EQ(*std::max_element(pv.begin(), pv.end()), 999);
  Generator g1(8), g2(8);
  EXPECT_EQ(to_vector<int64_t>(randperm(50, &g1)), to_vector<int64_t>(randperm(50, &g2)));
  // a permutation, not the identity, and the first positions are spread out
  int fixed = 0;
  for (int64_t i = 0; i < 1000; ++i) fixed += pv[i] == i;
  EXPECT_LT(fixed, 8);
}

TEST(Random, ErrorsNameTheOp) {
  EXPECT_NE(test::error_message([] { rand({2}, DType::i64); }).find("rand: expected a floating dtype"),
            std::string::npos);
  EXPECT_NE(test::error_message([] { randint(5, 5, {2}); }).find("randint: expected low < high, got [5, 5)"),
            std::string::npos);
  EXPECT_NE(test::error_message([] { trunc_normal_(zeros({2}), 0, 1, 2, -2); }).find("trunc_normal_: expected"),
            std::string::npos);
}

}  // namespace
