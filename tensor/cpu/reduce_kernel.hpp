#pragma once
// The reduction strategy shared by tensor/ops/reduction.cpp, reduce_index.cpp and softmax.cpp.
//
// Any reduction over a set of dims is brought to one contiguous 3-d layout (outer, reduce, inner):
// out[o, k] = reduce over r of x[o, r, k]. The input is used in place when it (or its kept-first /
// reduced-first permutation) is contiguous with the reduced dims adjacent; otherwise it is copied
// once into kept-first order. Two loop shapes follow, each vectorisable:
//   inner == 1  rows   : each output reduces one contiguous run of `reduce` elements (softmax
//                        over D, layer statistics); independent lanes break the dependency chain.
//   inner  > 1  columns: each output is a column; whole rows are combined elementwise into a
//                        row of accumulators (reductions over batch/time, outer-dim softmax).
//
// Accuracy of sums: a cascade (pairwise) sum, like NumPy's and PyTorch's. Rows: leaves of kLeaf
// elements summed in kSumLanes lanes, leaves combined pairwise; columns: blocks of kRowLeaf rows
// accumulated directly, blocks combined pairwise. The error grows like O(log n) rather than O(n),
// so a f32 sum of 10^7 elements stays within a few ulp without f64 accumulators. 16-bit inputs
// accumulate in float, integers in int64 (acc_t). Sums split their outputs (rows, or column tiles)
// across threads; an output's order of summation does not depend on the thread count.
#include <algorithm>
#include <memory>
#include <vector>

#include "tensor/cpu/elementwise_kernel.hpp"

namespace cj::cpu {

struct ReduceLayout {
  Tensor input;  // contiguous; element (o, r, k) at (o * reduce + r) * inner + k
  int64_t outer = 1, reduce = 1, inner = 1;
  Shape out_shape;  // the result's shape (reduced dims dropped, or kept as 1 with keepdim)
  int64_t out_numel() const { return outer * inner; }
};

// Over `dims` (empty = all); duplicate or out-of-range dims throw naming `op`.
ReduceLayout plan_reduction(const char* op, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim);

// Along one dim, for scans and softmax: input = contiguous(x), reduce = x.size(dim), out_shape =
// x's shape (a 0-d x is one element).
ReduceLayout plan_along_dim(const char* op, const Tensor& x, int64_t dim);

constexpr int64_t kLanes = 8;
constexpr int64_t kSumLanes = 32;  // lanes of a row sum (cascade_sum)
constexpr int64_t kLeaf = 256;     // row elements summed directly before pairwise combination
constexpr int64_t kRowLeaf = 32;   // column rows summed directly before pairwise combination
constexpr int64_t kColTile = 512;  // columns processed together (their accumulators stay in L1)
constexpr int64_t kReduceGrain = int64_t(1) << 15;  // input elements per thread below which a sum stays serial

// Cascade sum of f(x[i]) for i < n (x contiguous), accumulated in A.
template <typename A, typename T, typename F>
A cascade_sum(const T* x, int64_t n, const F& f) {
  if (n > kLeaf) {
    int64_t half = (n / 2 + kLanes - 1) / kLanes * kLanes;
    return cascade_sum<A>(x, half, f) + cascade_sum<A>(x + half, n - half, f);
  }
  // kSumLanes (four vector registers of 8 floats) rather than kLanes: four independent add chains
  // keep the adder busy, where one chain waits on its own latency.
  A lane[kSumLanes] = {};
  int64_t i = 0;
  for (; i + kSumLanes <= n; i += kSumLanes)
    for (int64_t j = 0; j < kSumLanes; ++j) lane[j] += f(x[i + j]);
  for (; i < n; ++i) lane[i % kSumLanes] += f(x[i]);
  for (int64_t w = kSumLanes / 2; w >= 1; w /= 2)  // pairwise: lane j += lane j + w
    for (int64_t j = 0; j < w; ++j) lane[j] += lane[j + w];
  return lane[0];
}

// acc[j] = sum over r < rows of f(x[r * stride + j], j) for j < width, cascaded over r.
template <typename A, typename T, typename F>
void column_sum(const T* x, int64_t rows, int64_t stride, int64_t width, const F& f, A* acc) {
  if (rows > kRowLeaf) {
    int64_t half = rows / 2;
    column_sum(x, half, stride, width, f, acc);
    std::vector<A> rest(width);
    column_sum(x + half * stride, rows - half, stride, width, f, rest.data());
    for (int64_t j = 0; j < width; ++j) acc[j] += rest[j];
    return;
  }
  std::fill(acc, acc + width, A(0));
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = x + r * stride;
    for (int64_t j = 0; j < width; ++j) acc[j] += f(row[j], j);
  }
}

// For every output index i = o * inner + k: finish(i, sum over r of term(x[o, r, k], i)). Outputs
// are split across threads (rows, or column tiles); each output's summation order does not depend
// on the thread count. term and finish are called concurrently for different outputs.
template <typename A, typename T, typename Term, typename Finish>
void sum_reduce(const ReduceLayout& L, const Term& term, const Finish& finish) {
  const T* x = static_cast<const T*>(L.input.data_ptr());
  if (L.inner == 1) {
    parallel_for(L.outer, std::max<int64_t>(1, kReduceGrain / std::max<int64_t>(L.reduce, 1)),
                 [&](int64_t o0, int64_t o1) {
                   for (int64_t o = o0; o < o1; ++o)
                     finish(o, cascade_sum<A>(x + o * L.reduce, L.reduce, [&](T v) { return term(v, o); }));
                 });
    return;
  }
  const int64_t tiles = (L.inner + kColTile - 1) / kColTile;  // per outer index
  const int64_t tile_work = std::min(kColTile, L.inner) * std::max<int64_t>(L.reduce, 1);
  parallel_for(L.outer * tiles, std::max<int64_t>(1, kReduceGrain / tile_work), [&](int64_t t0, int64_t t1) {
    std::vector<A> acc(std::min(L.inner, kColTile));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t o = t / tiles, k0 = (t % tiles) * kColTile;
      const int64_t w = std::min(kColTile, L.inner - k0), base = o * L.inner + k0;
      column_sum(x + o * L.reduce * L.inner + k0, L.reduce, L.inner, w,
                 [&](T v, int64_t j) { return term(v, base + j); }, acc.data());
      for (int64_t j = 0; j < w; ++j) finish(base + j, acc[j]);
    }
  });
}

// For every output index i: finish(i, fold of step over r starting from init). step must be
// associative and commutative (max, min, product, and, or): rows are folded in kLanes lanes.
template <typename A, typename T, typename Step, typename Finish>
void fold_reduce(const ReduceLayout& L, A init, const Step& step, const Finish& finish) {
  const T* x = static_cast<const T*>(L.input.data_ptr());
  if (L.inner == 1) {
    for (int64_t o = 0; o < L.outer; ++o) {
      const T* row = x + o * L.reduce;
      A lane[kLanes];
      std::fill(lane, lane + kLanes, init);
      int64_t i = 0;
      for (; i + kLanes <= L.reduce; i += kLanes)
        for (int64_t j = 0; j < kLanes; ++j) lane[j] = step(lane[j], A(load(row[i + j])));
      for (; i < L.reduce; ++i) lane[0] = step(lane[0], A(load(row[i])));
      A r = init;
      for (int64_t j = 0; j < kLanes; ++j) r = step(r, lane[j]);
      finish(o, r);
    }
    return;
  }
  std::unique_ptr<A[]> acc(new A[L.inner]);  // not std::vector: A may be bool
  for (int64_t o = 0; o < L.outer; ++o) {
    std::fill(acc.get(), acc.get() + L.inner, init);
    const T* block = x + o * L.reduce * L.inner;
    for (int64_t r = 0; r < L.reduce; ++r) {
      const T* row = block + r * L.inner;
      for (int64_t k = 0; k < L.inner; ++k) acc[k] = step(acc[k], A(load(row[k])));
    }
    for (int64_t k = 0; k < L.inner; ++k) finish(o * L.inner + k, acc[k]);
  }
}

// NaN-propagating max/min steps (the comparison is false for NaN, so a NaN accumulator sticks and a
// NaN value replaces the accumulator). `|` rather than `||`: no branch, so loops vectorise.
struct MaxStep {
  template <typename A>
  A operator()(A acc, A v) const {
    return ((v > acc) | (v != v)) ? v : acc;
  }
};
struct MinStep {
  template <typename A>
  A operator()(A acc, A v) const {
    return ((v < acc) | (v != v)) ? v : acc;
  }
};

}  // namespace cj::cpu
