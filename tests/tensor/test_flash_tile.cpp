// The flash attention kernels' maths (tensor/flash_tile.hpp), replayed tile by tile as the CUDA
// kernels run it (tests/tensor/flash_emulation.hpp), against the CPU op in f64 on the same inputs:
// every head dim the kernels take (8, 18, 32, 64), both row tilings (1 and 4 lanes per query),
// f32/bf16/f16 storage, no mask, a key-padding mask that empties whole key tiles, a full bool mask and
// an additive mask (both with a fully masked query row), forward and backward.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>

#include "tensor/flash_mask.hpp"
#include "tests/tensor/attention_cases.hpp"
#include "tests/tensor/flash_emulation.hpp"
#include "tests/tensor/numeric_check.hpp"

using namespace cj;
using namespace cj::test;

namespace {

constexpr int64_t kB = 2, kH = 2;

std::vector<float> widened(const Tensor& t) { return to_vector<float>(ops::to(t, DType::f32)); }

double normalized_error(const std::vector<float>& got, const Tensor& want) {
  return finite_normalized_error(std::vector<double>(got.begin(), got.end()), to_vector<double>(want));
}

double tolerance(DType t) { return t == DType::f32 ? 1e-5 : 1e-2; }

template <typename T, int E, int G>
void check(MaskKind kind, int64_t Lq, int64_t Lk) {
  const DType dt = dtype_of<T>::value;
  const std::string what = std::string(dtype_name(dt)) + " E=" + std::to_string(E) + " G=" + std::to_string(G) +
                           " Lq=" + std::to_string(Lq) + " Lk=" + std::to_string(Lk) + " " + mask_name(kind);
  Tensor q = seeded_uniform({kB, kH, Lq, E}, 1, -2, 2, dt), k = seeded_uniform({kB, kH, Lk, E}, 2, -2, 2, dt);
  Tensor v = seeded_uniform({kB, kH, Lk, E}, 3, -2, 2, dt), gout = seeded_uniform({kB, kH, Lq, E}, 4, -1, 1, dt);
  std::optional<Tensor> mask;
  if (kind != MaskKind::none) mask = make_attention_mask(kind, kB, kH, Lq, Lk);

  flash_emu::Problem p;
  p.Bt = kB * kH;
  p.Lq = Lq;
  p.Lk = Lk;
  p.scale = float(1 / std::sqrt(double(E)));
  p.q = widened(q);
  p.k = widened(k);
  p.v = widened(v);
  p.gout = widened(gout);
  if (mask) p.mask = flash::make_mask_desc(*mask, {kB, kH}, Lq, Lk, "test");
  flash_emu::forward<T, E, G>(p, p.out, p.lse);

  // The reference: the CPU op in f64 on the same (already rounded) values.
  auto f64 = [](const Tensor& t) { return ops::to(t, DType::f64); };
  std::optional<Tensor> mask64;
  if (mask) mask64 = mask->dtype() == DType::b8 ? *mask : f64(*mask);
  auto ref = ops::scaled_dot_product_attention(f64(q), f64(k), f64(v), mask64);
  EXPECT_LE(normalized_error(p.out, ref.out), tolerance(dt)) << what << ": out";
  EXPECT_LE(normalized_error(p.lse, ref.lse), tolerance(DType::f32)) << what << ": lse";  // kept in f32

  std::vector<float> gq, D, gk, gv;
  flash_emu::backward_dq<T, E, G>(p, gq, D);
  flash_emu::backward_dkv<T, E>(p, D, gk, gv);
  auto g = ops::scaled_dot_product_attention_backward(f64(gout), f64(q), f64(k), f64(v), ref.out, ref.lse, mask64,
                                                      std::nullopt);
  EXPECT_LE(normalized_error(gq, g.gq), tolerance(dt)) << what << ": gq";
  EXPECT_LE(normalized_error(gk, g.gk), tolerance(dt)) << what << ": gk";
  EXPECT_LE(normalized_error(gv, g.gv), tolerance(dt)) << what << ": gv";
}

template <typename T, int E>
void check_head_dim() {
  for (MaskKind kind : kAllMasks) {
    check<T, E, 1>(kind, 70, 75);  // two query blocks, a ragged last key tile
    check<T, E, 4>(kind, 70, 75);
    check<T, E, 4>(kind, 11, 75);  // slots attending to patches
  }
}

template <typename T>
void check_dtype() {
  check_head_dim<T, 8>();
  check_head_dim<T, 18>();
  check_head_dim<T, 32>();
  check_head_dim<T, 64>();
}

}  // namespace

TEST(FlashTile, MatchesTheCpuOpInF32) { check_dtype<float>(); }
TEST(FlashTile, MatchesTheCpuOpInBf16) { check_dtype<bf16>(); }
TEST(FlashTile, MatchesTheCpuOpInF16) { check_dtype<f16>(); }

// The online softmax over tiles equals one softmax over the whole row, whatever the split.
TEST(FlashTile, OnlineSoftmaxMergesToTheWholeRow) {
  constexpr int E = 8;
  float q[E], k[40 * E], v[40 * E];
  for (int e = 0; e < E; ++e) q[e] = 0.3f * float(e % 5) - 0.5f;
  for (int n = 0; n < 40 * E; ++n) {
    k[n] = std::sin(0.37f * float(n));
    v[n] = std::cos(0.11f * float(n));
  }
  const flash::MaskDesc none;
  flash::RowState<E> whole, first, second;
  flash::init(whole);
  flash::init(first);
  flash::init(second);
  flash::forward_tile<E, 40, E>(whole, q, k, v, 40, 0, 1, 1.f, none, 0, 0, 0);
  flash::forward_tile<E, 40, E>(first, q, k, v, 13, 0, 1, 1.f, none, 0, 0, 0);
  flash::forward_tile<E, 40, E>(second, q, k + 13 * E, v + 13 * E, 27, 0, 1, 1.f, none, 0, 0, 13);
  float a[E], b[E];
  const float lse_whole = flash::finish(whole, a), lse_split = flash::finish(flash::merge(first, second), b);
  EXPECT_NEAR(lse_whole, lse_split, 1e-6);
  for (int e = 0; e < E; ++e) EXPECT_NEAR(a[e], b[e], 1e-6) << e;
  flash::RowState<E> empty;
  flash::init(empty);
  float z[E];
  EXPECT_EQ(flash::finish(empty, z), -INFINITY);  // no live key: lse -inf and a zero output
  EXPECT_EQ(z[0], 0.f);
}

// The GPU suite checks that both attention paths give exact zeros (out, gq) and lse = -inf on
// the_empty_query: so do the CPU op and the kernels' replay on the same masks, while the bool mask's
// query 5 of another (batch, head) entry keeps live keys (checking every entry's query 5 was wrong).
TEST(FlashTile, TheEmptyQueryOfTheMasksIsZeroOnTheCpuOpAndTheKernels) {
  constexpr int E = 8;
  constexpr int64_t Lq = 11, Lk = 197;
  Tensor q = seeded_uniform({kB, kH, Lq, E}, 1, -2, 2), k = seeded_uniform({kB, kH, Lk, E}, 2, -2, 2);
  Tensor v = seeded_uniform({kB, kH, Lk, E}, 3, -2, 2), gout = seeded_uniform({kB, kH, Lq, E}, 4, -1, 1);
  for (MaskKind kind : {MaskKind::full_bool, MaskKind::additive}) {
    const Tensor mask = make_attention_mask(kind, kB, kH, Lq, Lk);
    auto ref = ops::scaled_dot_product_attention(q, k, v, mask);
    auto g = ops::scaled_dot_product_attention_backward(gout, q, k, v, ref.out, ref.lse, mask, std::nullopt);
    for (double x : to_vector<double>(the_empty_query(ref.out))) EXPECT_EQ(x, 0.0) << mask_name(kind);
    for (double x : to_vector<double>(the_empty_query(g.gq))) EXPECT_EQ(x, 0.0) << mask_name(kind);
    EXPECT_EQ(the_empty_query(ref.lse).item<double>(), -INFINITY) << mask_name(kind);
    if (kind == MaskKind::full_bool) {
      const Tensor other = ops::select(ops::select(ops::select(ref.out, 0, 1), 0, 0), 0, 5);  // batch 1, head 0
      EXPECT_GT(ops::amax(ops::abs(other)).item<double>(), 0.0);
    }

    flash_emu::Problem p;  // the kernels (4 lanes per query) on the same values: entry 0, query 5
    p.Bt = kB * kH, p.Lq = Lq, p.Lk = Lk, p.scale = float(1 / std::sqrt(double(E)));
    p.q = widened(q), p.k = widened(k), p.v = widened(v), p.gout = widened(gout);
    p.mask = flash::make_mask_desc(mask, {kB, kH}, Lq, Lk, "test");
    flash_emu::forward<float, E, 4>(p, p.out, p.lse);
    std::vector<float> gq, D;
    flash_emu::backward_dq<float, E, 4>(p, gq, D);
    EXPECT_EQ(p.lse[5], -INFINITY) << mask_name(kind);
    for (int e = 0; e < E; ++e) {
      EXPECT_EQ(p.out[5 * E + e], 0.f) << mask_name(kind);
      EXPECT_EQ(gq[5 * E + e], 0.f) << mask_name(kind);
    }
  }
}
