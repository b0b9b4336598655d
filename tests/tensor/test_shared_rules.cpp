// The per-element rules the CPU ops and the CUDA kernels share (tensor/ops/pointwise_rules.hpp,
// tensor/ops/order_rules.hpp), checked directly: the edge cases (NaN, negative integer powers,
// unsigned types, min > max, ties) that a GPU run must reproduce because it runs this same code.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "tensor/ops.hpp"
#include "tensor/ops/order_rules.hpp"
#include "tensor/ops/pointwise_rules.hpp"

using namespace cj;

namespace {
const float kNaN = std::numeric_limits<float>::quiet_NaN();
}

TEST(PointwiseRules, IntegerPowerMatchesRepeatedMultiplication) {
  for (int64_t base = -4; base <= 4; ++base)
    for (int64_t e = 0; e <= 9; ++e) {
      int64_t want = 1;
      for (int64_t i = 0; i < e; ++i) want *= base;
      EXPECT_EQ(pointwise::int_pow<int64_t>(base, e), want) << base << "^" << e;
    }
  // negative exponents: what 1 / base^|e| truncates to
  EXPECT_EQ(pointwise::int_pow<int64_t>(1, -3), 1);
  EXPECT_EQ(pointwise::int_pow<int64_t>(-1, -3), -1);
  EXPECT_EQ(pointwise::int_pow<int64_t>(-1, -2), 1);
  EXPECT_EQ(pointwise::int_pow<int64_t>(2, -1), 0);
  EXPECT_EQ(pointwise::int_pow<uint8_t>(3, 5), uint8_t(243));
  EXPECT_EQ(pointwise::int_pow<uint8_t>(2, 9), uint8_t(0));  // wraps as u8 arithmetic does
  EXPECT_EQ(pointwise::pow_value<bool>(false, false), true);
  EXPECT_EQ(pointwise::pow_value<bool>(false, true), false);
  EXPECT_FLOAT_EQ(pointwise::pow_value<float>(2.f, 0.5f), std::sqrt(2.f));
}

TEST(PointwiseRules, NanPropagationAndClampOrder) {
  EXPECT_TRUE(std::isnan(pointwise::maximum_value(kNaN, 1.f)));
  EXPECT_TRUE(std::isnan(pointwise::maximum_value(1.f, kNaN)));
  EXPECT_TRUE(std::isnan(pointwise::minimum_value(1.f, kNaN)));
  EXPECT_EQ(pointwise::maximum_value(-0.5f, 2.f), 2.f);
  EXPECT_EQ(pointwise::minimum_value(-0.5f, 2.f), -0.5f);
  EXPECT_TRUE(std::isnan(pointwise::clamp_value(kNaN, true, 0.f, true, 1.f)));
  EXPECT_EQ(pointwise::clamp_value(5.f, true, 3.f, true, 1.f), 1.f);  // min > max gives max
  EXPECT_EQ(pointwise::clamp_value(-5.f, true, -1.f, false, 0.f), -1.f);
  EXPECT_EQ(pointwise::sign_value(kNaN), 0.f);
  EXPECT_EQ(pointwise::sign_value(-3), -1);
  EXPECT_EQ(pointwise::sign_value(uint8_t(7)), uint8_t(1));
  EXPECT_EQ(pointwise::abs_value(uint8_t(200)), uint8_t(200));
  EXPECT_TRUE(pointwise::truthy(kNaN));
  EXPECT_FALSE(pointwise::truthy(0.0));
}

TEST(PointwiseRules, TheCpuOpsFollowThem) {
  Tensor a = from_vector<float>({kNaN, -2.f, 0.f, 3.f}, {4}), b = from_vector<float>({1.f, kNaN, -1.f, 2.f}, {4});
  std::vector<float> mx = to_vector<float>(ops::maximum(a, b)), cl = to_vector<float>(ops::clamp(a, 1, -1));
  std::vector<float> av = to_vector<float>(a), bv = to_vector<float>(b);
  for (size_t i = 0; i < 4; ++i) {
    const float want = pointwise::maximum_value(av[i], bv[i]);
    EXPECT_TRUE(mx[i] == want || (std::isnan(mx[i]) && std::isnan(want))) << i;
    const float want_c = pointwise::clamp_value(av[i], true, 1.f, true, -1.f);
    EXPECT_TRUE(cl[i] == want_c || (std::isnan(cl[i]) && std::isnan(want_c))) << i;
  }
}

TEST(OrderRules, SortOrderPutsNanLastAscendingFirstDescendingAndIsStable) {
  const std::vector<float> keys = {2.f, kNaN, 1.f, 2.f, kNaN, -1.f};
  for (bool descending : {false, true}) {
    std::vector<int64_t> order(keys.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](int64_t a, int64_t b) { return order::before(keys[a], a, keys[b], b, descending); });
    const std::vector<int64_t> want = descending ? std::vector<int64_t>{1, 4, 0, 3, 2, 5}
                                                 : std::vector<int64_t>{5, 2, 0, 3, 1, 4};
    EXPECT_EQ(order, want) << (descending ? "descending" : "ascending");
    // and the CPU sort gives the same order
    EXPECT_EQ(to_vector<int64_t>(ops::argsort(from_vector(keys, {6}), 0, descending)), want);
  }
}

TEST(OrderRules, ExtremeKeepsTheFirstTieAndTheFirstNan) {
  EXPECT_FALSE(order::replaces<true>(3.f, 3.f));  // a tie keeps the earlier index
  EXPECT_TRUE(order::replaces<true>(4.f, 3.f));
  EXPECT_TRUE(order::replaces<false>(2.f, 3.f));
  EXPECT_TRUE(order::replaces<true>(kNaN, 3.f));
  EXPECT_FALSE(order::replaces<true>(kNaN, kNaN));  // the first NaN stays
  EXPECT_FALSE(order::replaces<true>(9.f, kNaN));
  Tensor x = from_vector<float>({1.f, 5.f, 5.f, kNaN, kNaN}, {5});
  EXPECT_EQ(ops::argmax(x, 0).item<int64_t>(), 3);
  EXPECT_EQ(ops::argmax(ops::narrow(x, 0, 0, 3), 0).item<int64_t>(), 1);
}
