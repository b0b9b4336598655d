// sort, argsort and topk against an O(n^2) rank-counting reference (independent of std::sort), and
// against values produced by PyTorch.
#include <cmath>
#include <limits>

#include "index_test_util.hpp"

using namespace cj;
using namespace cj::testing;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

// torch's ascending order: NaN after every number.
bool ascending_less(double a, double b) {
  if (std::isnan(a)) return false;
  if (std::isnan(b)) return true;
  return a < b;
}

// Whether element (a at position ia) comes before (b at ib) in a stable sort.
bool precedes(double a, int64_t ia, double b, int64_t ib, bool descending) {
  const bool before = descending ? ascending_less(b, a) : ascending_less(a, b);
  const bool after = descending ? ascending_less(a, b) : ascending_less(b, a);
  return before || (!after && ia < ib);
}

// The first k of every line of x along d in stable order: (values as f64, indices as f64), each
// element placed at its rank = the number of line elements that precede it.
std::pair<Tensor, Tensor> reference_first_k(const Tensor& x, int64_t d, int64_t k, bool descending) {
  Shape out_shape = x.shape();
  out_shape[size_t(d)] = k;
  Tensor values = full(out_shape, kNaN, DType::f64), indices = full(out_shape, -1, DType::f64);
  const Shape out_strides = values.strides();  // both fresh and contiguous
  auto flat = [&](const std::vector<int64_t>& i) {
    int64_t offset = 0;
    for (size_t q = 0; q < i.size(); ++q) offset += i[q] * out_strides[q];
    return offset;
  };
  Shape line_shape = x.shape();
  line_shape[size_t(d)] = 1;
  const int64_t n = x.size(d);
  for_each_index(line_shape, [&](const std::vector<int64_t>& start) {
    auto at = [&](int64_t j) {
      std::vector<int64_t> i = start;
      i[size_t(d)] = j;
      return i;
    };
    for (int64_t j = 0; j < n; ++j) {
      int64_t rank = 0;
      for (int64_t m = 0; m < n; ++m) rank += precedes(x.at(at(m)), m, x.at(at(j)), j, descending);
      if (rank >= k) continue;
      values.data<double>()[flat(at(rank))] = x.at(at(j));
      indices.data<double>()[flat(at(rank))] = double(j);
    }
  });
  return {values, indices};
}

// Samples with many ties, and NaNs sprinkled in for floating dtypes.
Tensor sample_with_ties(const Shape& shape, DType dt, uint32_t seed) {
  Tensor x = sample(shape, dt, seed, -3, 3);
  if (is_floating(dt)) x = ops::masked_fill(x, sample(shape, DType::b8, seed + 1), kNaN);
  return x;
}

}  // namespace

TEST(Sort, StableWithNaNsForEveryDimDtypeAndLayout) {
  const std::vector<DType> dtypes{DType::f32, DType::f64, DType::bf16, DType::f16,
                                  DType::i32, DType::i64, DType::u8,   DType::b8};
  for_each_case(dtypes, {0, 1, -1}, 3, [&](const Case& c) {
    Tensor x = with_layout(sample_with_ties({3, 4, 6}, c.dtype, 41), c.layout);
    for (bool descending : {false, true}) {
      SCOPED_TRACE(descending ? "descending" : "ascending");
      auto [values, indices] = ops::sort(x, c.dim, descending);
      EXPECT_EQ(values.dtype(), c.dtype);
      EXPECT_EQ(indices.dtype(), DType::i64);
      auto [want_values, want_indices] = reference_first_k(x, c.d, x.size(c.d), descending);
      expect_same_values(values, want_values);
      expect_same_values(indices, want_indices);
      expect_same_values(ops::argsort(x, c.dim, descending), want_indices);
    }
  });
}

TEST(Sort, MatchesTorch) {
  // torch.sort(torch.tensor([3., nan, 1., -inf, nan, 2.]), stable=True)
  //   -> values [-inf, 1, 2, 3, nan, nan], indices [3, 2, 5, 0, 1, 4]
  // ... descending=True -> values [nan, nan, 3, 2, 1, -inf], indices [1, 4, 0, 5, 2, 3]
  const double inf = std::numeric_limits<double>::infinity();
  Tensor x = ops::to(from_vector<double>({3, kNaN, 1, -inf, kNaN, 2}, {6}), DType::f32);
  auto [up, up_i] = ops::sort(x);
  expect_same_values(up, from_vector<double>({-inf, 1, 2, 3, kNaN, kNaN}, {6}));
  EXPECT_EQ(to_vector<int64_t>(up_i), (std::vector<int64_t>{3, 2, 5, 0, 1, 4}));
  auto [down, down_i] = ops::sort(x, 0, true);
  expect_same_values(down, from_vector<double>({kNaN, kNaN, 3, 2, 1, -inf}, {6}));
  EXPECT_EQ(to_vector<int64_t>(down_i), (std::vector<int64_t>{1, 4, 0, 5, 2, 3}));
  // torch.sort(torch.tensor([2, 1, 2, 0, 1], dtype=torch.int32), descending=True, stable=True)
  //   -> values [2, 2, 1, 1, 0], indices [0, 2, 1, 4, 3]
  auto [iv, ii] = ops::sort(from_vector<int32_t>({2, 1, 2, 0, 1}, {5}), -1, true);
  EXPECT_EQ(to_vector<int64_t>(iv), (std::vector<int64_t>{2, 2, 1, 1, 0}));
  EXPECT_EQ(to_vector<int64_t>(ii), (std::vector<int64_t>{0, 2, 1, 4, 3}));
}

TEST(Sort, EmptyAndScalar) {
  auto [v, i] = ops::sort(zeros({0, 4}), 1);
  EXPECT_EQ(v.shape(), (Shape{0, 4}));
  EXPECT_EQ(ops::sort(zeros({3, 0}), 1).second.shape(), (Shape{3, 0}));
  auto [sv, si] = ops::sort(scalar_tensor(5.0));
  EXPECT_EQ(sv.dim(), 0);
  EXPECT_EQ(sv.item(), 5.0);
  EXPECT_EQ(si.item(), 0.0);
  expect_error([] { ops::sort(zeros({2, 3}), 2); }, {"sort", "dimension 2"});
}

TEST(TopK, MatchesReferenceForEveryK) {
  for_each_case({DType::f32, DType::bf16, DType::i64, DType::u8}, {0, -1}, 3, [&](const Case& c) {
    Tensor x = with_layout(sample_with_ties({3, 4, 6}, c.dtype, 42), c.layout);
    for (bool largest : {true, false})
      for (int64_t k : {int64_t(0), int64_t(1), int64_t(2), x.size(c.d)}) {
        SCOPED_TRACE(std::string(largest ? "largest" : "smallest") + " k=" + std::to_string(k));
        auto [values, indices] = ops::topk(x, k, c.dim, largest);
        auto [want_values, want_indices] = reference_first_k(x, c.d, k, largest);
        expect_same_values(values, want_values);
        expect_same_values(indices, want_indices);
      }
  });
}

TEST(TopK, MatchesTorch) {
  Tensor x = from_vector<float>({3, 1, 2, 1, 0, 5, -1, 5, 2, 2, 2, 7}, {3, 4});
  // torch.topk(x, 2, dim=0, largest=False) -> values [[0, 1, -1, 1], [2, 2, 2, 5]],
  //                                           indices [[1, 0, 1, 0], [2, 2, 0, 1]]
  auto [v0, i0] = ops::topk(x, 2, 0, false);
  EXPECT_EQ(to_vector<float>(v0), (std::vector<float>{0, 1, -1, 1, 2, 2, 2, 5}));
  EXPECT_EQ(to_vector<int64_t>(i0), (std::vector<int64_t>{1, 0, 1, 0, 2, 2, 0, 1}));
  // torch.topk(x, 2, dim=1) -> values [[3, 2], [5, 5], [7, 2]], indices [[0, 2], [1, 3], [3, 2]].
  // Row 2 ties three 2s at the boundary: torch's CPU kernel picked index 2, ours takes the lowest
  // index (0), as documented in sort.cpp. Values always agree.
  auto [v1, i1] = ops::topk(x, 2, 1);
  EXPECT_EQ(to_vector<float>(v1), (std::vector<float>{3, 2, 5, 5, 7, 2}));
  EXPECT_EQ(to_vector<int64_t>(i1), (std::vector<int64_t>{0, 2, 1, 3, 3, 0}));
  // torch.topk(torch.tensor([3., nan, 1., -inf, nan, 2.]), 3) -> values [nan, nan, 3], indices [1, 4, 0]
  Tensor n = ops::to(from_vector<double>({3, kNaN, 1, -std::numeric_limits<double>::infinity(), kNaN, 2}, {6}),
                     DType::f32);
  auto [nv, ni] = ops::topk(n, 3);
  EXPECT_TRUE(std::isnan(nv.at({0})) && std::isnan(nv.at({1})));
  EXPECT_EQ(nv.at({2}), 3.0);
  EXPECT_EQ(to_vector<int64_t>(ni), (std::vector<int64_t>{1, 4, 0}));
}

TEST(TopK, EdgeCasesAndBadInputs) {
  auto [v, i] = ops::topk(scalar_tensor(5.0), 1);  // torch returns the 0-d scalar
  EXPECT_EQ(v.dim(), 0);
  EXPECT_EQ(v.item(), 5.0);
  EXPECT_EQ(ops::topk(zeros({2, 0}), 0).first.shape(), (Shape{2, 0}));
  EXPECT_EQ(ops::topk(zeros({0, 3}), 2).first.shape(), (Shape{0, 2}));
  expect_error([] { ops::topk(zeros({3}), 4); }, {"topk", "k = 4", "dim 0 of size 3", "0..3"});
  expect_error([] { ops::topk(zeros({3}), -1); }, {"topk", "k = -1"});
  expect_error([] { ops::topk(zeros({3}, DType::b8), 1); }, {"topk", "bool"});
  expect_error([] { ops::topk(zeros({3}), 1, 1); }, {"topk", "dimension 1"});
}
