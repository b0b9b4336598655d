#pragma once
// Helpers for the indexing-op tests: deterministic sample tensors, the same values in other memory
// layouts, a multi-index loop for naive references, and a check on cj::Error messages.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tensor/ops.hpp"

namespace cj::testing {

// Small integers (exact in every dtype, so references compare exactly) from a fixed LCG: in
// [lo, hi] for signed dtypes, [0, hi] for u8, {false, true} for bool.
inline Tensor sample(const Shape& shape, DType dtype, uint32_t seed, int lo = -6, int hi = 6) {
  if (dtype == DType::u8) lo = 0;
  if (dtype == DType::b8) lo = 0, hi = 1;
  std::vector<double> v(size_t(shape_numel(shape)));
  uint32_t state = seed * 2654435761u + 12345u;
  for (auto& e : v) {
    state = state * 1664525u + 1013904223u;
    e = lo + int((state >> 8) % uint32_t(hi - lo + 1));
  }
  return ops::to(from_vector(v, shape), dtype);
}

// Index values in [0, bound) of the given dtype.
inline Tensor sample_index(const Shape& shape, int64_t bound, uint32_t seed, DType dtype = DType::i64) {
  return sample(shape, dtype, seed, 0, int(bound) - 1);
}

enum class Layout { contiguous, permuted, sliced };
inline const char* layout_name(Layout l) {
  return l == Layout::contiguous ? "contiguous" : l == Layout::permuted ? "permuted" : "sliced";
}

// x's values in a view with other strides: `permuted` lives in a buffer of the reversed shape,
// `sliced` takes every other element of a larger buffer starting at offset 1 in every dim.
inline Tensor with_layout(const Tensor& x, Layout layout) {
  if (layout == Layout::contiguous) return ops::clone(x);
  const int64_t n = x.dim();
  Tensor v;
  if (layout == Layout::permuted) {
    Shape reversed(x.shape().rbegin(), x.shape().rend()), dims(size_t(n), 0);
    for (int64_t i = 0; i < n; ++i) dims[size_t(i)] = n - 1 - i;
    v = ops::permute(Tensor::empty(reversed, x.dtype()), dims);
  } else {
    Shape big = x.shape();
    for (auto& s : big) s = 2 * s + 1;
    v = Tensor::empty(big, x.dtype());
    for (int64_t d = 0; d < n; ++d) v = ops::slice(v, d, 1, 2 * x.size(d) + 1, 2);
  }
  ops::copy_(v, x);
  return v;
}

inline const std::vector<Layout>& all_layouts() {
  static const std::vector<Layout> all{Layout::contiguous, Layout::permuted, Layout::sliced};
  return all;
}

// One combination of a sweep: dtype, layout, the dim as passed to the op and wrapped to [0, ndim).
struct Case {
  DType dtype;
  Layout layout;
  int64_t dim;
  int64_t d;
};

// Runs body over every (dtype, layout, dim) combination, with a trace naming the case on failure.
inline void for_each_case(const std::vector<DType>& dtypes, const std::vector<int64_t>& dims, int64_t ndim,
                          const std::function<void(const Case&)>& body) {
  for (DType dtype : dtypes)
    for (Layout layout : all_layouts())
      for (int64_t dim : dims) {
        SCOPED_TRACE(std::string(dtype_name(dtype)) + " " + layout_name(layout) + " dim " + std::to_string(dim));
        body(Case{dtype, layout, dim, dim < 0 ? dim + ndim : dim});
      }
}

// Calls fn(multi-index) for every position of shape in row-major order.
inline void for_each_index(const Shape& shape, const std::function<void(const std::vector<int64_t>&)>& fn) {
  if (shape_numel(shape) == 0) return;
  std::vector<int64_t> idx(shape.size(), 0);
  while (true) {
    fn(idx);
    int64_t d = int64_t(shape.size()) - 1;
    for (; d >= 0; --d) {
      if (++idx[size_t(d)] < shape[size_t(d)]) break;
      idx[size_t(d)] = 0;
    }
    if (d < 0) return;
  }
}

// A float64 tensor of `shape` whose element at i is value(i): how the naive references are written.
inline Tensor reference(const Shape& shape, const std::function<double(const std::vector<int64_t>&)>& value) {
  Tensor out = Tensor::empty(shape, DType::f64);
  double* p = out.data<double>();
  for_each_index(shape, [&](const std::vector<int64_t>& i) { *p++ = value(i); });
  return out;
}

// Expects `f` to throw cj::Error whose message contains every piece.
inline void expect_error(const std::function<void()>& f, const std::vector<std::string>& pieces) {
  try {
    f();
    ADD_FAILURE() << "expected a cj::Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const auto& p : pieces) EXPECT_NE(msg.find(p), std::string::npos) << "missing '" << p << "' in: " << msg;
  }
}

// Every element of `got` equals `want` (read via at(), as doubles; NaN equals NaN).
inline void expect_same_values(const Tensor& got, const Tensor& want, const std::string& what = "") {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  for_each_index(got.shape(), [&](const std::vector<int64_t>& i) {
    const double g = got.at(i), w = want.at(i);
    if (g != g && w != w) return;
    EXPECT_EQ(g, w) << what << " at " << shape_str(i);
  });
}

}  // namespace cj::testing
