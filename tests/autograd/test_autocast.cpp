// autograd/autocast: the thread-local guard, the policy table, what each policy does to an op's
// dtypes (checked against the same op run on explicitly cast inputs, bit for bit), and that the
// casts are differentiable so fp32 leaves receive fp32 gradients.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>

#include "autograd/ops.hpp"
#include "tests/tensor/numeric_check.hpp"

namespace cj {
namespace {

using test::seeded_uniform;

Tensor leaf32(const Shape& shape, uint64_t seed) {
  Tensor t = seeded_uniform(shape, seed);
  t.requires_grad_(true);
  return t;
}

bool same_values(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && ops::max_rel_error(a, b) == 0.0;
}

TEST(Autocast, GuardSetsAndRestoresTheThreadState) {
  EXPECT_FALSE(autocast_enabled());
  EXPECT_EQ(autocast_dtype(), DType::bf16);
  {
    AutocastGuard outer;  // bf16, on
    EXPECT_TRUE(autocast_enabled());
    EXPECT_EQ(autocast_dtype(), DType::bf16);
    {
      AutocastGuard inner(DType::f16);
      EXPECT_TRUE(autocast_enabled());
      EXPECT_EQ(autocast_dtype(), DType::f16);
      {
        AutocastGuard off(DType::f16, false);
        EXPECT_FALSE(autocast_enabled());
      }
      EXPECT_TRUE(autocast_enabled());
    }
    EXPECT_EQ(autocast_dtype(), DType::bf16);
    bool other_thread_enabled = true;
    std::thread([&] { other_thread_enabled = autocast_enabled(); }).join();
    EXPECT_FALSE(other_thread_enabled);  // thread-local, as torch's
  }
  EXPECT_FALSE(autocast_enabled());
}

TEST(Autocast, GuardRefusesANonHalfDtype) {
  try {
    AutocastGuard bad(DType::f32);
    FAIL() << "expected cj::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("float32"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(autocast_enabled());
}

TEST(Autocast, PolicyTableHasOneRowPerOpAndNamesMissingOps) {
  std::set<std::string> seen;
  for (const AutocastRule& rule : kAutocastPolicy) EXPECT_TRUE(seen.insert(rule.op).second) << rule.op;
  EXPECT_EQ(autocast_policy("linear"), CastPolicy::lower_precision);
  EXPECT_EQ(autocast_policy("softmax"), CastPolicy::fp32);
  EXPECT_EQ(autocast_policy("scatter_add"), CastPolicy::promote);
  EXPECT_STREQ(cast_policy_name(CastPolicy::fp32), "fp32");
  try {
    autocast_policy("no_such_op");
    FAIL() << "expected cj::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no_such_op"), std::string::npos) << e.what();
  }
}

TEST(Autocast, LowerPrecisionOpsRunOnCastInputs) {
  Tensor x = seeded_uniform({2, 3, 8}, 1), w = seeded_uniform({5, 8}, 2), b = seeded_uniform({5}, 3);
  Tensor a = seeded_uniform({4, 8}, 4), m = seeded_uniform({8, 6}, 5);
  Tensor q = seeded_uniform({2, 2, 3, 4}, 6), k = seeded_uniform({2, 2, 5, 4}, 7), v = seeded_uniform({2, 2, 5, 4}, 8);
  Tensor img = seeded_uniform({1, 2, 5, 5}, 9), kernel = seeded_uniform({3, 2, 3, 3}, 10);
  auto bf = [](const Tensor& t) { return ops::to(t, DType::bf16); };
  for (DType low : {DType::bf16, DType::f16}) {
    auto lo = [low](const Tensor& t) { return ops::to(t, low); };
    AutocastGuard amp(low);
    EXPECT_TRUE(same_values(linear(x, w, b), ops::linear(lo(x), lo(w), lo(b))));
    EXPECT_TRUE(same_values(mm(a, m), ops::mm(lo(a), lo(m))));
    EXPECT_TRUE(same_values(matmul(x, ops::transpose(w, 0, 1)), ops::matmul(lo(x), lo(ops::transpose(w, 0, 1)))));
    EXPECT_TRUE(same_values(matmul(ops::select(a, 0, 0), m), ops::matmul(lo(ops::select(a, 0, 0)), lo(m))));  // 1-D
    EXPECT_TRUE(same_values(bmm(ops::view(a, {2, 2, 8}), ops::view(m, {2, 8, 3})),
                            ops::bmm(lo(ops::view(a, {2, 2, 8})), lo(ops::view(m, {2, 8, 3})))));
    EXPECT_TRUE(same_values(conv2d(img, kernel), ops::conv2d(lo(img), lo(kernel), std::nullopt, {})));
    EXPECT_TRUE(same_values(scaled_dot_product_attention(q, k, v),
                            ops::scaled_dot_product_attention(lo(q), lo(k), lo(v)).out));
  }
  AutocastGuard amp;
  // A float mask is cast with q, k, v (torch casts every floating argument); a bool mask is left alone.
  Tensor additive = seeded_uniform({3, 5}, 11), keep = ops::gt(seeded_uniform({3, 5}, 12), -0.5);
  EXPECT_TRUE(same_values(scaled_dot_product_attention(q, k, v, additive),
                          ops::scaled_dot_product_attention(bf(q), bf(k), bf(v), bf(additive)).out));
  EXPECT_TRUE(same_values(scaled_dot_product_attention(q, k, v, keep),
                          ops::scaled_dot_product_attention(bf(q), bf(k), bf(v), keep).out));
  // f64 is never cast (torch leaves double alone); an already-bf16 input needs no cast.
  Tensor x64 = ops::to(x, DType::f64), w64 = ops::to(w, DType::f64);
  EXPECT_EQ(linear(x64, w64).dtype(), DType::f64);
  EXPECT_EQ(linear(bf(x), w).dtype(), DType::bf16);
}

TEST(Autocast, Fp32OpsRunOnFloatInputs) {
  Tensor x = ops::to(seeded_uniform({3, 6}, 21, 0.1, 2.0), DType::bf16);
  Tensor w = seeded_uniform({6}, 22), b = seeded_uniform({6}, 23);
  Tensor x32 = ops::to(x, DType::f32);
  AutocastGuard amp;
  EXPECT_TRUE(same_values(softmax(x, -1), ops::softmax(x32, -1)));
  EXPECT_TRUE(same_values(log_softmax(x, 0), ops::log_softmax(x32, 0)));
  EXPECT_TRUE(same_values(layer_norm(x, {6}, w, b), ops::layer_norm(x32, {6}, w, b).out));
  EXPECT_TRUE(same_values(sum(x, {1}), ops::sum(x32, {1})));
  EXPECT_TRUE(same_values(prod(x), ops::prod(x32)));
  EXPECT_TRUE(same_values(cumsum(x, 1), ops::cumsum(x32, 1)));
  EXPECT_TRUE(same_values(logsumexp(x, {1}), ops::logsumexp(x32, {1})));
  EXPECT_TRUE(same_values(exp(x), ops::exp(x32)));
  EXPECT_TRUE(same_values(log(x), ops::log(x32)));
  EXPECT_TRUE(same_values(rsqrt(x), ops::rsqrt(x32)));
  EXPECT_TRUE(same_values(pow(x, 1.5), ops::pow(x32, 1.5)));
  EXPECT_TRUE(same_values(pow(x, x), ops::pow(x32, x32)));
  // Not listed: these run in the dtype they are given.
  EXPECT_EQ(gelu(x).dtype(), DType::bf16);
  EXPECT_EQ(mean(x).dtype(), DType::bf16);
  EXPECT_EQ(tanh(x).dtype(), DType::bf16);
  // Integer inputs are not floating, so nothing is cast.
  EXPECT_EQ(sum(arange(5)).dtype(), DType::i64);
}

TEST(Autocast, PromoteOpsRunInTheWidestDtype) {
  Tensor x = seeded_uniform({3, 4}, 31);
  Tensor src = ops::to(seeded_uniform({2, 4}, 32), DType::bf16);
  Tensor index = ops::to(from_vector<int64_t>({0, 2, 1, 0, 1, 1, 2, 0}, {2, 4}), DType::i64);
  EXPECT_THROW(scatter_add(x, 0, index, src), Error);  // without autocast the dtypes must agree
  AutocastGuard amp;
  EXPECT_TRUE(same_values(scatter_add(x, 0, index, src), ops::scatter_add(x, 0, index, ops::to(src, DType::f32))));
  // Binary elementwise ops promote by themselves (no table row): f32 + bf16 -> f32.
  EXPECT_EQ(add(x, ops::to(x, DType::bf16)).dtype(), DType::f32);
}

TEST(Autocast, DisabledOrOffLeavesDtypesAlone) {
  Tensor x = seeded_uniform({2, 4}, 41), w = seeded_uniform({3, 4}, 42);
  EXPECT_EQ(linear(x, w).dtype(), DType::f32);
  AutocastGuard amp;
  AutocastGuard off(DType::bf16, false);
  EXPECT_EQ(linear(x, w).dtype(), DType::f32);
  EXPECT_EQ(softmax(ops::to(x, DType::bf16), -1).dtype(), DType::bf16);
}

// The gradient crosses each cast back into the input's dtype: fp32 leaves get fp32 gradients equal
// to those of the same graph written with explicit differentiable casts.
TEST(Autocast, CastsAreDifferentiableAndLeafGradientsStayFp32) {
  auto run = [](bool autocast) {
    Tensor x = leaf32({4, 6}, 51), w = leaf32({3, 6}, 52), b = leaf32({3}, 53);
    Tensor loss;
    if (autocast) {
      AutocastGuard amp;
      loss = sum(softmax(linear(x, w, b), -1) * linear(x, w, b));
    } else {
      auto bf = [](const Tensor& t) { return to(t, DType::bf16); };
      Tensor logits = linear(bf(x), bf(w), bf(b)), values = linear(bf(x), bf(w), bf(b));
      loss = sum(softmax(to(logits, DType::f32), -1) * to(values, DType::f32));
    }
    EXPECT_EQ(loss.dtype(), DType::f32);
    backward(loss);
    return std::vector<Tensor>{x.grad(), w.grad(), b.grad()};
  };
  auto with_autocast = run(true), explicit_casts = run(false);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(with_autocast[i].dtype(), DType::f32) << i;
    EXPECT_TRUE(same_values(with_autocast[i], explicit_casts[i])) << i;
  }
}

TEST(Autocast, WorksUnderNoGrad) {
  Tensor x = leaf32({2, 4}, 61), w = leaf32({3, 4}, 62);
  AutocastGuard amp;
  NoGradGuard no_grad;
  Tensor y = linear(x, w);
  EXPECT_EQ(y.dtype(), DType::bf16);
  EXPECT_FALSE(y.requires_grad());
}

}  // namespace
}  // namespace cj
