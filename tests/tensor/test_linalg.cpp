// mm / bmm / matmul / linear against a naive f64 triple loop, on contiguous, transposed, strided and
// broadcast operands, in every floating dtype.
#include <gtest/gtest.h>

#include "tensor/cpu/gemm.hpp"
#include "tests/tensor/numeric_check.hpp"

using namespace cj;
using cj::test::max_rel_error;
using cj::test::noncontiguous_copy;
using cj::test::seeded_uniform;

namespace {

// Reference torch.matmul for operands of >= 2 dims with broadcast batch dims, in f64.
Tensor reference_matmul(const Tensor& a, const Tensor& b) {
  Shape batch = broadcast_shapes(Shape(a.shape().begin(), a.shape().end() - 2),
                                 Shape(b.shape().begin(), b.shape().end() - 2), "reference");
  const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  Shape as = batch, bs = batch;
  as.insert(as.end(), {M, K});
  bs.insert(bs.end(), {K, N});
  std::vector<double> av = to_vector<double>(ops::expand(a, as)), bv = to_vector<double>(ops::expand(b, bs));
  const int64_t B = shape_numel(batch);
  std::vector<double> out(B * M * N, 0.0);
  for (int64_t p = 0; p < B; ++p)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += av[(p * M + i) * K + k] * bv[(p * K + k) * N + j];
        out[(p * M + i) * N + j] = s;
      }
  Shape os = batch;
  os.insert(os.end(), {M, N});
  return from_vector(out, os);
}

}  // namespace

TEST(Gemm, AllTransposeCombinationsWithAlphaBeta) {
  const int64_t M = 5, N = 7, K = 3;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Tensor a = seeded_uniform(ta ? Shape{K, M} : Shape{M, K}, 1, -1, 1, DType::f64);
      Tensor b = seeded_uniform(tb ? Shape{N, K} : Shape{K, N}, 2, -1, 1, DType::f64);
      Tensor c0 = seeded_uniform({M, N}, 3, -1, 1, DType::f64);
      Tensor c = ops::clone(c0);
      cpu::gemm(ta, tb, M, N, K, 0.5, a.data<double>(), ta ? M : K, b.data<double>(), tb ? K : N, 2.0,
                c.data<double>(), N);
      Tensor ref = reference_matmul(ta ? ops::transpose(a, 0, 1) : a, tb ? ops::transpose(b, 0, 1) : b);
      std::vector<double> r = to_vector<double>(ref), c0v = to_vector<double>(c0), got = to_vector<double>(c);
      for (size_t i = 0; i < r.size(); ++i) EXPECT_NEAR(got[i], 0.5 * r[i] + 2.0 * c0v[i], 1e-12) << ta << tb << i;
    }
}

TEST(Gemm, BetaZeroIgnoresGarbageInC) {
  std::vector<float> a{1, 2, 3, 4}, b{1, 0, 0, 1}, c(4, NAN);
  cpu::gemm(false, false, 2, 2, 2, 1.0f, a.data(), 2, b.data(), 2, 0.0f, c.data(), 2);
  EXPECT_EQ(c, (std::vector<float>{1, 2, 3, 4}));
}

TEST(Linalg, MmMatchesReferenceOnNoncontiguousOperands) {
  Tensor a = seeded_uniform({33, 17}, 4), b = seeded_uniform({17, 29}, 5);
  Tensor want = reference_matmul(a, b);
  EXPECT_LT(max_rel_error(ops::mm(a, b), want), 1e-6);
  EXPECT_LT(max_rel_error(ops::mm(noncontiguous_copy(a), noncontiguous_copy(b)), want), 1e-6);
  // transposed views are read without a copy; the result must not depend on that
  Tensor at = ops::transpose(ops::clone(ops::transpose(a, 0, 1)), 0, 1);
  EXPECT_FALSE(at.is_contiguous());
  EXPECT_LT(max_rel_error(ops::mm(at, b), want), 1e-6);
  EXPECT_EQ(ops::mm(a, b).shape(), (Shape{33, 29}));
}

TEST(Linalg, MmInEveryFloatingDtype) {
  Tensor a = seeded_uniform({8, 12}, 6, -1, 1, DType::f64), b = seeded_uniform({12, 5}, 7, -1, 1, DType::f64);
  Tensor want = reference_matmul(a, b);
  EXPECT_LT(max_rel_error(ops::mm(a, b), want), 1e-14);
  for (DType dt : {DType::bf16, DType::f16}) {
    Tensor a16 = ops::to(a, dt), b16 = ops::to(b, dt);
    Tensor got = ops::mm(a16, b16);
    EXPECT_EQ(got.dtype(), dt);
    // exact f32 product of the rounded inputs, rounded once
    Tensor want16 = ops::to(reference_matmul(ops::to(a16, DType::f64), ops::to(b16, DType::f64)), dt);
    EXPECT_LT(max_rel_error(got, want16), dt == DType::bf16 ? 8e-3 : 1e-3);
  }
}

TEST(Linalg, BmmAndBatchBroadcastMatmul) {
  Tensor a = seeded_uniform({3, 6, 4}, 8), b = seeded_uniform({3, 4, 5}, 9);
  EXPECT_LT(max_rel_error(ops::bmm(noncontiguous_copy(a), b), reference_matmul(a, b)), 1e-6);
  // (2, 1, 6, 4) x (3, 4, 5) -> (2, 3, 6, 5): broadcast batch dims, stride-0 reuse
  Tensor a4 = seeded_uniform({2, 1, 6, 4}, 10);
  Tensor got = ops::matmul(a4, noncontiguous_copy(b));
  EXPECT_EQ(got.shape(), (Shape{2, 3, 6, 5}));
  EXPECT_LT(max_rel_error(got, reference_matmul(a4, b)), 1e-6);
  // N-d x 2-D folds the batch into rows
  Tensor w = seeded_uniform({4, 9}, 11);
  EXPECT_LT(max_rel_error(ops::matmul(noncontiguous_copy(a), w), reference_matmul(a, w)), 1e-6);
}

TEST(Linalg, MatmulWithVectors) {
  Tensor v = seeded_uniform({4}, 12), m = seeded_uniform({4, 3}, 13), a3 = seeded_uniform({2, 5, 4}, 14);
  Tensor dot = ops::matmul(v, v);
  EXPECT_EQ(dot.dim(), 0);
  auto vv = to_vector<double>(v);
  double s = 0;
  for (double x : vv) s += x * x;
  EXPECT_NEAR(dot.item<double>(), s, 1e-6);
  Tensor vm = ops::matmul(v, m);  // (4) x (4, 3) -> (3)
  EXPECT_EQ(vm.shape(), (Shape{3}));
  EXPECT_LT(max_rel_error(vm, ops::squeeze(reference_matmul(ops::unsqueeze(v, 0), m), 0)), 1e-6);
  Tensor mv = ops::matmul(ops::transpose(m, 0, 1), v);  // (3, 4) x (4) -> (3)
  EXPECT_LT(max_rel_error(mv, vm), 1e-6);
  Tensor bv = ops::matmul(a3, v);  // (2, 5, 4) x (4) -> (2, 5)
  EXPECT_EQ(bv.shape(), (Shape{2, 5}));
  EXPECT_LT(max_rel_error(bv, ops::squeeze(reference_matmul(a3, ops::unsqueeze(v, 1)), -1)), 1e-6);
  Tensor vb = ops::matmul(v, ops::transpose(a3, 1, 2));  // (4) x (2, 4, 5) -> (2, 5)
  EXPECT_EQ(vb.shape(), (Shape{2, 5}));
  EXPECT_LT(max_rel_error(vb, bv), 1e-6);
}

TEST(Linalg, LinearWithAndWithoutBias) {
  Tensor x = seeded_uniform({2, 3, 10}, 15), w = seeded_uniform({6, 10}, 16), b = seeded_uniform({6}, 17);
  Tensor xw = reference_matmul(x, ops::transpose(w, 0, 1));
  std::vector<double> ref = to_vector<double>(xw), bv = to_vector<double>(b);
  for (size_t i = 0; i < ref.size(); ++i) ref[i] += bv[i % 6];
  Tensor got = ops::linear(noncontiguous_copy(x), noncontiguous_copy(w), noncontiguous_copy(b));
  EXPECT_EQ(got.shape(), (Shape{2, 3, 6}));
  EXPECT_LT(max_rel_error(got, from_vector(ref, {2, 3, 6})), 1e-6);
  EXPECT_LT(max_rel_error(ops::linear(x, w), xw), 1e-6);
  Tensor got16 = ops::linear(ops::to(x, DType::bf16), ops::to(w, DType::bf16), ops::to(b, DType::bf16));
  EXPECT_EQ(got16.dtype(), DType::bf16);
  EXPECT_LT(max_rel_error(got16, from_vector(ref, {2, 3, 6})), 3e-2);
}

TEST(Linalg, EmptyInnerDimensionGivesZeros) {
  Tensor c = ops::mm(zeros({3, 0}), zeros({0, 2}));
  EXPECT_EQ(to_vector<float>(c), std::vector<float>(6, 0.0f));
  // Batched and folded matmul, and linear, with no inner features: zeros, or the bias (as torch).
  Tensor folded = ops::matmul(zeros({2, 5, 0}), zeros({0, 4}));
  EXPECT_EQ(folded.shape(), (Shape{2, 5, 4}));
  EXPECT_EQ(to_vector<float>(folded), std::vector<float>(40, 0.0f));
  EXPECT_EQ(ops::matmul(zeros({2, 3, 0}), zeros({2, 0, 4})).shape(), (Shape{2, 3, 4}));
  Tensor biased = ops::linear(zeros({2, 3, 0}), zeros({4, 0}), full({4}, 1.5));
  EXPECT_EQ(biased.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(to_vector<float>(biased), std::vector<float>(24, 1.5f));
  EXPECT_EQ(ops::linear(zeros({0, 3}), zeros({4, 3})).shape(), (Shape{0, 4}));
}

TEST(Linalg, BadShapesAndDtypesThrow) {
  EXPECT_THROW(ops::mm(zeros({2, 3}), zeros({4, 2})), Error);
  EXPECT_THROW(ops::mm(zeros({2, 3}), zeros({3, 2}, DType::f64)), Error);
  EXPECT_THROW(ops::mm(zeros({2, 3}, DType::i64), zeros({3, 2}, DType::i64)), Error);
  EXPECT_THROW(ops::bmm(zeros({2, 2, 3}), zeros({3, 3, 2})), Error);
  EXPECT_THROW(ops::matmul(zeros({2, 2, 3}), zeros({3, 4, 2})), Error);  // batch 2 vs 3
  EXPECT_THROW(ops::linear(zeros({2, 5}), zeros({3, 4})), Error);
  EXPECT_THROW(ops::linear(zeros({2, 4}), zeros({3, 4}), zeros({4})), Error);
  try {
    ops::mm(zeros({2, 3}), zeros({4, 2}));
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mm"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("[2, 3]"), std::string::npos);
  }
}
