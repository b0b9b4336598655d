// scaled_dot_product_attention forward/backward against PyTorch fixtures (every mask kind), a naive
// f64 loop on non-contiguous inputs, and f64 finite differences.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "tensor/cpu/softmax_row.hpp"
#include "tests/tensor/fixture_cases.hpp"
#include "tests/tensor/numeric_check.hpp"

using namespace cj;
using namespace cj::test;

namespace {

// softmax(scale q kᵀ + mask) v for (B, Lq, E) operands and a (B, Lq, Lk) additive f64 mask.
Tensor reference_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& additive, double scale) {
  const int64_t B = q.size(0), Lq = q.size(1), Lk = k.size(1), E = q.size(2), Ev = v.size(2);
  std::vector<double> qv = to_vector<double>(q), kv = to_vector<double>(k), vv = to_vector<double>(v);
  std::vector<double> mv = additive.defined() ? to_vector<double>(additive) : std::vector<double>(B * Lq * Lk, 0.0);
  std::vector<double> out(B * Lq * Ev, 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < Lq; ++i) {
      std::vector<double> s(Lk);
      double mx = -INFINITY;
      for (int64_t j = 0; j < Lk; ++j) {
        double d = 0;
        for (int64_t e = 0; e < E; ++e) d += qv[(b * Lq + i) * E + e] * kv[(b * Lk + j) * E + e];
        s[j] = d * scale + mv[(b * Lq + i) * Lk + j];
        mx = std::max(mx, s[j]);
      }
      if (mx == -INFINITY) continue;  // fully masked row -> zeros
      double sum = 0;
      for (double& x : s) sum += (x = std::exp(x - mx));
      for (int64_t j = 0; j < Lk; ++j)
        for (int64_t e = 0; e < Ev; ++e) out[(b * Lq + i) * Ev + e] += s[j] / sum * vv[(b * Lk + j) * Ev + e];
    }
  return from_vector(out, {B, Lq, Ev});
}

}  // namespace

TEST(Attention, MatchesPyTorchFixturesForEveryMaskKind) {
  FixtureFile f(fixture_path("tensor/attention.safetensors"));
  for (const auto& c : fixture_cases(f)) {
    const std::string n = c["name"], kind = c["mask"];
    SCOPED_TRACE(n);
    std::optional<double> scale;
    if (!c["scale"].is_null()) scale = c["scale"].get<double>();
    std::optional<Tensor> mask;
    if (kind == "key_padding") {
      mask = ops::key_padding_to_attn_mask(f[n + ".key_padding_mask"]);
      EXPECT_EQ(to_vector<double>(*mask), to_vector<double>(f[n + ".mask"]));
    } else if (kind != "none") {
      mask = f[n + ".mask"];
    }
    const Tensor &q = f[n + ".q"], &k = f[n + ".k"], &v = f[n + ".v"];
    auto fwd = ops::scaled_dot_product_attention(q, k, v, mask, scale);
    EXPECT_LT(max_rel_error(fwd.out, f[n + ".y"]), 1e-5);
    auto g = ops::scaled_dot_product_attention_backward(f[n + ".gy"], q, k, v, fwd.out, fwd.lse, mask, scale);
    EXPECT_LT(max_rel_error(g.gq, f[n + ".gq"]), 1e-4);
    EXPECT_LT(max_rel_error(g.gk, f[n + ".gk"]), 1e-4);
    EXPECT_LT(max_rel_error(g.gv, f[n + ".gv"]), 1e-4);
  }
}

TEST(Attention, NoncontiguousInputsAndLongSequencesMatchNaiveReference) {
  // Lq = 3600 spans three query tiles of 1200 rows (a tile holds up to 2^16 / Lk rows); the bool
  // mask broadcasts over the batch.
  const int64_t B = 2, Lq = 3600, Lk = 37, E = 8, Ev = 5;
  Tensor q = seeded_uniform({B, Lq, E}, 1, -1, 1, DType::f64), k = seeded_uniform({B, Lk, E}, 2, -1, 1, DType::f64),
         v = seeded_uniform({B, Lk, Ev}, 3, -1, 1, DType::f64);
  Tensor bits = seeded_uniform({Lq, Lk}, 4, 0, 1, DType::f64);
  std::vector<double> bv = to_vector<double>(bits), additive(B * Lq * Lk);
  std::vector<bool> keep(Lq * Lk);
  for (int64_t i = 0; i < Lq * Lk; ++i) keep[i] = bv[i] > 0.3 || i % Lk == 0;
  for (int64_t i = 0; i < B * Lq * Lk; ++i) additive[i] = keep[i % (Lq * Lk)] ? 0.0 : -INFINITY;
  Tensor mask = from_vector(keep, {Lq, Lk});
  Tensor want = reference_attention(q, k, v, from_vector(additive, {B, Lq, Lk}), 0.7);
  auto got = ops::scaled_dot_product_attention(noncontiguous_copy(q), noncontiguous_copy(k), noncontiguous_copy(v),
                                               noncontiguous_copy(mask), 0.7);
  EXPECT_LT(max_rel_error(got.out, want), 1e-13);
  EXPECT_EQ(got.lse.shape(), (Shape{B, Lq}));
  auto got32 = ops::scaled_dot_product_attention(ops::to(q, DType::f32), ops::to(k, DType::f32),
                                                 ops::to(v, DType::f32), mask, 0.7);
  EXPECT_LT(max_rel_error(got32.out, want), 1e-6);
  auto got16 = ops::scaled_dot_product_attention(ops::to(q, DType::bf16), ops::to(k, DType::bf16),
                                                 ops::to(v, DType::bf16), mask, 0.7);
  EXPECT_EQ(got16.out.dtype(), DType::bf16);
  EXPECT_LT(max_rel_error(got16.out, want), 3e-2);
}

TEST(Attention, BackwardMatchesFiniteDifferencesInF64) {
  const int64_t B = 2, Lq = 4, Lk = 6, E = 3, Ev = 2;
  Tensor q = seeded_uniform({B, Lq, E}, 5, -1, 1, DType::f64), k = seeded_uniform({B, Lk, E}, 6, -1, 1, DType::f64),
         v = seeded_uniform({B, Lk, Ev}, 7, -1, 1, DType::f64), gy = seeded_uniform({B, Lq, Ev}, 8, -1, 1, DType::f64);
  Tensor mask = seeded_uniform({B, 1, Lk}, 9, -1, 1, DType::f64);  // additive, broadcast over queries
  auto fwd = ops::scaled_dot_product_attention(q, k, v, mask);
  auto g = ops::scaled_dot_product_attention_backward(noncontiguous_copy(gy), noncontiguous_copy(q), k,
                                                      noncontiguous_copy(v), fwd.out, fwd.lse, mask, std::nullopt);
  auto out_of = [&](const Tensor& qq, const Tensor& kk, const Tensor& vv) {
    return ops::scaled_dot_product_attention(qq, kk, vv, mask).out;
  };
  EXPECT_LT(max_rel_error(g.gq, numeric_vjp([&](const Tensor& t) { return out_of(t, k, v); }, q, gy)), 1e-7);
  EXPECT_LT(max_rel_error(g.gk, numeric_vjp([&](const Tensor& t) { return out_of(q, t, v); }, k, gy)), 1e-7);
  EXPECT_LT(max_rel_error(g.gv, numeric_vjp([&](const Tensor& t) { return out_of(q, k, t); }, v, gy)), 1e-7);
}

TEST(Attention, BadInputsThrow) {
  Tensor q = zeros({2, 3, 4}), k = zeros({2, 5, 4}), v = zeros({2, 5, 6});
  EXPECT_THROW(ops::scaled_dot_product_attention(q, zeros({2, 5, 3}), v), Error);      // E differs
  EXPECT_THROW(ops::scaled_dot_product_attention(q, k, zeros({2, 4, 6})), Error);      // Lk differs
  EXPECT_THROW(ops::scaled_dot_product_attention(q, zeros({3, 5, 4}), v), Error);      // batch differs
  EXPECT_THROW(ops::scaled_dot_product_attention(q, k, v, zeros({4, 5})), Error);      // mask shape
  EXPECT_THROW(ops::scaled_dot_product_attention(q, k, v, zeros({3, 5}, DType::i64)), Error);  // mask dtype
  EXPECT_THROW(ops::key_padding_to_attn_mask(zeros({2, 5})), Error);  // not bool
}

// The vectorised row softmax behind attention (16 lanes plus a tail): rows of every length mod 16.
TEST(Attention, RowSoftmaxMatchesF64ReferenceAtEveryLength) {
  for (int64_t n : {1, 7, 16, 17, 112, 197}) {
    std::vector<float> row(n);
    for (int64_t j = 0; j < n; ++j) row[j] = float(std::sin(0.37 * double(j) + 0.1 * double(n)) * 9.0);
    double mx = -INFINITY, sum = 0;
    for (float v : row) mx = std::max(mx, double(v));
    for (float v : row) sum += std::exp(double(v) - mx);
    std::vector<float> got = row;
    const float lse = cpu::softmax_row_inplace(got.data(), n);
    EXPECT_NEAR(lse, mx + std::log(sum), 1e-5 * std::abs(mx + std::log(sum)) + 1e-6) << n;
    for (int64_t j = 0; j < n; ++j) {
      const double want = std::exp(double(row[j]) - mx) / sum;
      EXPECT_NEAR(got[j], want, 1e-6 * want + 1e-12) << "n " << n << " j " << j;
    }
  }
  std::vector<float> with_nan(20, 1.0f);
  with_nan[18] = NAN;  // in the tail: still poisons the whole row, as torch.softmax
  cpu::softmax_row_inplace(with_nan.data(), 20);
  for (float v : with_nan) EXPECT_TRUE(std::isnan(v));
  std::vector<float> masked = {-INFINITY, 0.0f, -INFINITY};
  cpu::softmax_row_inplace(masked.data(), 3);
  EXPECT_EQ(masked[0], 0.0f);
  EXPECT_EQ(masked[1], 1.0f);
}

// Empty key sets, query sets and batches (the CUDA suite holds both GPU paths to these results):
// no keys give out = 0 and lse = -inf (log of an empty sum) with zero gq; the rest are empty.
TEST(Attention, EmptyKeysQueriesAndBatches) {
  for (const auto& [B, Lq, Lk] : std::vector<std::array<int64_t, 3>>{{2, 3, 0}, {2, 0, 4}, {0, 3, 4}}) {
    Tensor q = seeded_uniform({B, 2, Lq, 8}, 1), k = seeded_uniform({B, 2, Lk, 8}, 2);
    Tensor v = seeded_uniform({B, 2, Lk, 8}, 3), go = seeded_uniform({B, 2, Lq, 8}, 4);
    auto r = ops::scaled_dot_product_attention(q, k, v);
    EXPECT_EQ(r.out.shape(), (Shape{B, 2, Lq, 8}));
    EXPECT_EQ(r.lse.shape(), (Shape{B, 2, Lq}));
    for (double x : to_vector<double>(r.out)) EXPECT_EQ(x, 0.0);
    for (double x : to_vector<double>(r.lse)) EXPECT_EQ(x, -INFINITY);
    auto g = ops::scaled_dot_product_attention_backward(go, q, k, v, r.out, r.lse, std::nullopt, std::nullopt);
    EXPECT_EQ(g.gq.shape(), q.shape());
    EXPECT_EQ(g.gk.shape(), k.shape());
    EXPECT_EQ(g.gv.shape(), v.shape());
    for (double x : to_vector<double>(g.gq)) EXPECT_EQ(x, 0.0);
    for (double x : to_vector<double>(g.gv)) EXPECT_EQ(x, 0.0);
  }
}
